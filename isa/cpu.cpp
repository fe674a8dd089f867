#include "isa/cpu.h"

namespace isa {

// Outside 64-bit mode: offset checked against the segment limit, linear address
// wraps at 4 GiB (SDM Vol. 3A 5.3 "Limit checking"). Expand-down data segments
// (type bit 2 with S=1 and not code) have valid offsets limit+1 .. top.
// Type checks (read of execute-only code, write to read-only data) and null-selector
// checks are made when the segment is loaded and here on the access kind.
uint64_t Cpu::linear_legacy(unsigned s, uint64_t off, unsigned size, Access a) {
  const SegmentReg& sr = seg[s];
  bool real_like = !(cr0 & 1) || (rflags & FLAG_VM);
  uint64_t last = off + size - 1;
  if (!real_like) {
    unsigned type = sr.attr & 0xF;
    bool code = type & 8;
    bool unusable = !(sr.attr & 0x80);  // P=0 in the cache: null selector loaded
    if (unusable) raise_fault(s == SS ? VEC_SS : VEC_GP, 0);
    if (a == Access::kWrite && (code || !(type & 2))) raise_fault(s == SS ? VEC_SS : VEC_GP, 0);
    if (a == Access::kRead && code && !(type & 2)) raise_fault(VEC_GP, 0);
    if (!code && (type & 4)) {  // expand-down
      uint64_t top = (sr.attr & 0x4000) ? 0xFFFFFFFFull : 0xFFFFull;
      if (off <= sr.limit || last > top) raise_fault(s == SS ? VEC_SS : VEC_GP, 0);
    } else if (last > sr.limit) {
      raise_fault(s == SS ? VEC_SS : VEC_GP, 0);
    }
  } else if (last > sr.limit) {
    raise_fault(s == SS ? VEC_SS : VEC_GP, 0);
  }
  return uint32_t(sr.base + off);
}

void Cpu::read_bytes(unsigned s, uint64_t off, void* dst, unsigned size) {
  uint64_t lin = linear(s, off, size, Access::kRead);
  const TlbEntry& e = tlb_read[(lin >> 12) & (kTlbSize - 1)];
  if (NS_LIKELY(e.vpn == (lin >> 12) && (lin & 0xFFF) <= kPageSize - size)) {
    std::memcpy(dst, reinterpret_cast<const void*>(lin + e.addend), size);
  } else {
    slow_seg = uint8_t(s);
    bus->read_slow(*this, lin, dst, size, Access::kRead);
  }
}

void Cpu::write_bytes(unsigned s, uint64_t off, const void* src, unsigned size) {
  uint64_t lin = linear(s, off, size, Access::kWrite);
  const TlbEntry& e = tlb_write[(lin >> 12) & (kTlbSize - 1)];
  if (NS_LIKELY(e.vpn == (lin >> 12) && (lin & 0xFFF) <= kPageSize - size)) {
    std::memcpy(reinterpret_cast<void*>(lin + e.addend), src, size);
  } else {
    slow_seg = uint8_t(s);
    bus->write_slow(*this, lin, src, size);
  }
}

void Cpu::probe_write(unsigned s, uint64_t off, unsigned size) {
  uint64_t lin = linear(s, off, size, Access::kWrite);
  const TlbEntry& e = tlb_write[(lin >> 12) & (kTlbSize - 1)];
  if (NS_LIKELY(e.vpn == (lin >> 12) && (lin & 0xFFF) <= kPageSize - size)) return;
  slow_seg = uint8_t(s);
  bus->probe_write(*this, lin, size);
}

}  // namespace isa
