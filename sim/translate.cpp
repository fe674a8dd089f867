// Linear-to-physical translation and the memory slow paths of the Bus: the part of
// the machine between the core's host-pointer TLB and mmu/ (page walker, tagged TLB).
#include <algorithm>
#include <cstring>

#include "sim/machine.h"

namespace sim {

using isa::Access;
using isa::CpuFault;

// ---- translation -------------------------------------------------------------

void Machine::check_canonical(uint64_t lin, unsigned size) {
  // 48-bit linear addresses (SDM Vol. 1 3.3.7.1): bits 63:47 all equal. A stack
  // access faults with #SS(0), any other with #GP(0) (SDM Vol. 3A 6.15).
  auto canon = [](uint64_t a) { return uint64_t(int64_t(a << 16) >> 16) == a; };
  if (!canon(lin) || !canon(lin + size - 1))
    isa::raise_fault(cpu_.slow_seg == isa::SS ? isa::VEC_SS : isa::VEC_GP, 0);
}

uint64_t Machine::translate(uint64_t lin, Access a) {
  // Part 1: paging is modelled as the identity the loader's page tables describe.
  (void)a;
  return lin;
}

void Machine::fill_tlb(uint64_t lin, uint64_t pa, Access a) {
  if (!mem_.in_ram(pa & ~0xFFFull, isa::kPageSize)) return;
  if (a == Access::kWrite && mem_.page_has_code(pa)) return;  // keep SMC visible
  counters.tlb_fills++;
  isa::TlbEntry e;
  e.vpn = lin >> 12;
  e.addend = uintptr_t(mem_.ram() + (pa & ~0xFFFull)) - (lin & ~0xFFFull);
  unsigned i = e.vpn & (isa::kTlbSize - 1);
  (a == Access::kWrite ? cpu_.tlb_write : a == Access::kExec ? cpu_.tlb_exec : cpu_.tlb_read)[i] = e;
}

void Machine::read_slow(isa::Cpu& c, uint64_t lin, void* dst, unsigned size, Access a) {
  if (c.long64) check_canonical(lin, size);
  auto* d = static_cast<uint8_t*>(dst);
  while (size) {
    unsigned chunk = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
    uint64_t pa = translate(lin, a);
    mem_.read(pa, d, chunk);
    fill_tlb(lin, pa, a);
    lin += chunk, d += chunk, size -= chunk;
  }
}

void Machine::probe_write(isa::Cpu& c, uint64_t lin, unsigned size) {
  if (c.long64) check_canonical(lin, size);
  for (uint64_t p = lin & ~0xFFFull; p <= ((lin + size - 1) & ~0xFFFull); p += isa::kPageSize)
    translate(p < lin ? lin : p, Access::kWrite);
}

void Machine::write_slow(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) {
  if (c.long64) check_canonical(lin, size);
  // Translate every page first so a fault on the second page leaves memory untouched.
  uint64_t pa0 = translate(lin, Access::kWrite);
  unsigned first = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
  uint64_t pa1 = first < size ? translate(lin + first, Access::kWrite) : 0;
  auto* s = static_cast<const uint8_t*>(src);
  uint64_t pas[2] = {pa0, pa1};
  unsigned lens[2] = {first, size - first};
  for (unsigned i = 0; i < 2 && lens[i]; i++) {
    uint64_t pa = pas[i];
    if (mem_.in_ram(pa, 1) && mem_.page_has_code(pa)) {
      // Exact self-modifying code: drop every block decoded from this page. If the
      // current block is among them its remaining instructions are cut off.
      counters.smc_invalidations += code_.invalidate_page(pa);
      mem_.clear_code_page(pa);
    }
    mem_.write(pa, s, lens[i]);
    fill_tlb(i ? lin + first : lin, pa, Access::kWrite);
    s += lens[i];
  }
}

void Machine::protect_code_page(uint64_t pa) {
  if (mem_.page_has_code(pa)) return;
  mem_.add_code_page(pa);
  // Remove write entries that point at this page, so stores take the slow path.
  uintptr_t host = uintptr_t(mem_.ram() + (pa & ~0xFFFull));
  for (auto& e : cpu_.tlb_write)
    if (e.vpn != ~0ull && (e.vpn << 12) + e.addend == host) e = isa::TlbEntry{};
}

void Machine::read_system(isa::Cpu& c, uint64_t lin, void* dst, unsigned size) {
  // Implicit supervisor access (SDM Vol. 3A 4.6); paging is the identity for now.
  auto* d = static_cast<uint8_t*>(dst);
  while (size) {
    unsigned chunk = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
    mem_.read(translate(lin, Access::kRead), d, chunk);
    lin += chunk, d += chunk, size -= chunk;
  }
  (void)c;
}

void Machine::write_system(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) {
  write_slow(c, lin, src, size);
}

void Machine::paging_event(isa::Cpu& c, isa::PagingEvent ev, uint64_t addr, uint64_t pcid) {
  // Until the page walker: any change drops every cached translation.
  (void)ev, (void)addr, (void)pcid;
  c.flush_tlb();
  code_.flush_jump_cache();
}

}  // namespace sim
