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

namespace isa {

// SDM Vol. 3A 2.2 / 9.8.5: the processor mode follows CR0.PE, EFER.LMA, RFLAGS.VM
// and CS.L/D; CPL is SS.DPL in protected mode (5.5), 0 in real mode, 3 in v8086.
void Cpu::update_mode() {
  const bool pe = cr0 & 1;
  const bool vm = pe && (rflags & FLAG_VM);
  const bool lma = efer & EFER_LMA;
  const uint16_t cs_attr = seg[CS].attr;
  uint8_t new_cpl = !pe ? 0 : vm ? 3 : uint8_t((seg[SS].attr >> 5) & 3);
  if (lma && (cs_attr & 0x2000)) {
    code_size = CodeSize::k64;  // 64-bit mode: CS.L=1 (CS.D must be 0)
  } else {
    code_size = (!vm && (cs_attr & 0x4000)) ? CodeSize::k32 : CodeSize::k16;
  }
  // Real mode decodes by the CS cache's D bit (which real-mode loads leave alone,
  // SDM Vol. 3A 9.9.2); v8086 mode is always 16-bit (20.1.1).
  long64 = code_size == CodeSize::k64;
  la_shift = (cr4 & CR4_LA57) ? 7 : 16;
  for (unsigned s = 0; s < 6; s++)
    seg_base_eff[s] = (long64 && s != FS && s != GS) ? 0 : seg[s].base;
  if (new_cpl != cpl) {
    cpl = new_cpl;
    bus->paging_event(*this, PagingEvent::kCplChange);
  }
  // SMAP makes supervisor access to user pages depend on RFLAGS.AC (SDM Vol. 3A 4.6).
  const bool ac = rflags & FLAG_AC;
  if (ac != last_ac_ && (cr4 & CR4_SMAP)) bus->paging_event(*this, PagingEvent::kAcChange);
  last_ac_ = ac;
  // #AC (SDM Vol. 3A 6.15 Interrupt 17) and data breakpoints (17.2.4: R/W = 01 or 11
  // with an enable bit) are checked in the slow paths only.
  bool data_bp = false;
  for (unsigned i = 0; i < 4 && (dr[7] & 0xFF); i++) {  // none without an enable bit
    unsigned rw = (dr[7] >> (16 + i * 4)) & 3;
    if (((dr[7] >> (i * 2)) & 3) && (rw == 1 || rw == 3)) data_bp = true;
  }
  const bool slow = ((cr0 & CR0_AM) && ac && cpl == 3) || data_bp;
  if (slow && !slow_data) flush_tlb();
  slow_data = slow;
  sys.mode_changes++;
}

}  // namespace isa

namespace isa {

void Bus::read_system(Cpu& c, uint64_t lin, void* dst, unsigned size) {
  read_slow(c, lin, dst, size, Access::kRead);
}
void Bus::write_system(Cpu& c, uint64_t lin, const void* src, unsigned size) {
  write_slow(c, lin, src, size);
}
void Bus::write_privileged(Cpu& c, uint64_t lin, const void* src, unsigned size, unsigned) {
  write_system(c, lin, src, size);
}
void Bus::paging_event(Cpu& c, PagingEvent, uint64_t, uint64_t) { c.flush_tlb(); }
bool Bus::platform_rdmsr(Cpu&, uint32_t, uint64_t&) { return false; }
uint64_t Bus::read_cr8(Cpu& c) { return c.cr8 & 0xF; }
void Bus::write_cr8(Cpu& c, uint64_t value) { c.cr8 = value; }
bool Bus::platform_wrmsr(Cpu&, uint32_t, uint64_t) { return false; }
void Bus::halt(Cpu& c) { c.ev.activity = Activity::kHlt; c.stop_request = true; }
void Bus::iret_unblock_nmi(Cpu& c) { c.ev.nmi_blocked = false; }
void Bus::shutdown(Cpu& c, const char*) {
  c.ev.activity = Activity::kShutdown;
  c.stop_request = true;
}

}  // namespace isa
