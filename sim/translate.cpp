// Linear-to-physical translation and the memory slow paths of the Bus: the part of
// the machine between the core's host-pointer TLB and mmu/ (page walker, tagged TLB).
//
// Layers, fastest first:
//   1. the host-pointer TLB in isa::Cpu (inline hits; isa/cpu.h states its rules);
//   2. the modelled TLBs (mmu::Tlb, tagged by PCID; one for data, one for fetches),
//      whose entries keep the rights a walk found; a hit re-checks them against the
//      current CPL, CR0.WP, SMEP/SMAP, RFLAGS.AC and PKRU; invalidations apply to both;
//   3. the page walker (mmu::walk), charged tlb_miss + walk_ref per reference on the
//      data side (fetch walks are not charged, see translate_access).
// The decoded-code jump cache and block chains bypass all three (they are keyed by
// linear PC), so every event that may change a translation or execute permission
// clears them (CodeCache::flush_jump_cache starts a new epoch).
#include <algorithm>
#include <cstring>

#include "isa/system.h"
#include "sim/machine.h"

namespace sim {

using isa::Access;
using isa::CpuFault;
using isa::PagingEvent;

namespace {

using isa::CR0_AM, isa::CR0_PG, isa::CR4_PSE, isa::CR4_PAE, isa::CR4_PGE, isa::CR4_LA57,
    isa::CR4_PCIDE, isa::CR4_SMEP, isa::EFER_LMA;

// Paging-structure entries in guest physical memory. A/D updates are stores: one to
// a page holding decoded code invalidates that code like any other store.
class PhysPtes final : public mmu::PteMemory {
 public:
  PhysPtes(mmu::PhysMem& mem, CodeCache& code, uint64_t& smc) : mem_(mem), code_(code), smc_(smc) {}
  uint64_t read_pte(uint64_t pa, unsigned size) override {
    uint64_t v = 0;
    if (NS_LIKELY(mem_.in_ram(pa, 8))) {  // entries are naturally aligned: fixed-size copies
      if (size == 8) std::memcpy(&v, mem_.ram() + pa, 8);
      else std::memcpy(&v, mem_.ram() + pa, 4);
    } else {
      mem_.read(pa, &v, size);
    }
    return v;
  }
  void write_pte(uint64_t pa, uint64_t v, unsigned size) override {
    if (mem_.in_ram(pa, size) && mem_.page_has_code(pa)) {
      smc_ += code_.invalidate_page(pa);
      mem_.clear_code_page(pa);
    }
    mem_.write(pa, &v, size);
  }

 private:
  mmu::PhysMem& mem_;
  CodeCache& code_;
  uint64_t& smc_;
};

bool pae_legacy(const isa::Cpu& c) {
  return (c.cr0 & CR0_PG) && (c.cr4 & CR4_PAE) && !(c.efer & EFER_LMA);
}

// #AC alignment by access size (SDM Vol. 3A 6.15 "Interrupt 17", table 6-7): words,
// doublewords and quadwords align to their size, 80-bit x87 values to 8. Other sizes
// (bytes, 16/32-byte vectors, save areas) are not checked on this path.
unsigned ac_alignment(unsigned size) {
  switch (size) {
    case 2: return 2;
    case 4: return 4;
    case 8: return 8;
    case 10: return 8;
    default: return 1;
  }
}

// Physical accesses of the slow paths: RAM with fixed-size copies for the common
// sizes (a variable-size memcpy is a library call), anything else through PhysMem.
void mem_read(mmu::PhysMem& mem, uint64_t pa, void* dst, unsigned n) {
  if (NS_LIKELY(mem.in_ram(pa, n))) {
    const uint8_t* src = mem.ram() + pa;
    switch (n) {
      case 1: std::memcpy(dst, src, 1); return;
      case 2: std::memcpy(dst, src, 2); return;
      case 4: std::memcpy(dst, src, 4); return;
      case 8: std::memcpy(dst, src, 8); return;
      default: std::memcpy(dst, src, n); return;
    }
  }
  mem.read(pa, dst, n);
}

void mem_write(mmu::PhysMem& mem, uint64_t pa, const void* src, unsigned n) {
  if (NS_LIKELY(mem.in_ram(pa, n))) {
    uint8_t* dst = mem.ram() + pa;
    switch (n) {
      case 1: std::memcpy(dst, src, 1); return;
      case 2: std::memcpy(dst, src, 2); return;
      case 4: std::memcpy(dst, src, 4); return;
      case 8: std::memcpy(dst, src, 8); return;
      default: std::memcpy(dst, src, n); return;
    }
  }
  mem.write(pa, src, n);
}

}  // namespace

bool Machine::model_page1g(const CpuModel& m) {
  uint32_t r[4];
  m.cpuid_leaf(0x80000001, 0, r);
  return (r[3] >> 26) & 1;
}

// ---- translation -------------------------------------------------------------

void Machine::check_canonical(uint64_t lin, unsigned size) {
  // Bits 63:47 (63:56 with CR4.LA57) all equal (SDM Vol. 1 3.3.7.1, Vol. 3A 4.5). A
  // stack access faults with #SS(0), any other with #GP(0) (SDM Vol. 3A 6.15).
  const unsigned sh = (cpu_.cr4 & CR4_LA57) ? 7 : 16;
  auto canon = [sh](uint64_t a) { return uint64_t(int64_t(a << sh) >> sh) == a; };
  if (!canon(lin) || !canon(lin + size - 1))
    isa::raise_fault(cpu_.slow_seg == isa::SS ? isa::VEC_SS : isa::VEC_GP, 0);
}

// The controls are rebuilt only when one of their inputs changed (cheap compares on
// the slow path instead of decoding every bit again).
const mmu::PagingControls& Machine::paging_controls() {
  const isa::Cpu& c = cpu_;
  const uint64_t ac = c.rflags & isa::FLAG_AC;
  if (NS_UNLIKELY(!ctl_valid_ || ctl_in_[0] != c.cr0 || ctl_in_[1] != c.cr3 ||
                  ctl_in_[2] != c.cr4 || ctl_in_[3] != c.efer || ctl_in_[4] != ac ||
                  ctl_in_[5] != c.pkru)) {
    ctl_ = mmu::PagingControls::from_state(c, c.pdpte, model_->maxphyaddr, page1g_);
    ctl_in_[0] = c.cr0, ctl_in_[1] = c.cr3, ctl_in_[2] = c.cr4, ctl_in_[3] = c.efer;
    ctl_in_[4] = ac, ctl_in_[5] = c.pkru;
    ctl_valid_ = true;
  }
  return ctl_;
}

// SDM Vol. 3A 4.10.1: the current PCID is CR3[11:0] with CR4.PCIDE = 1, else 0; VPID
// and EPT tag come from the VMX context (Vol. 3C 28.3.1, sim/vmx_glue.cpp).
mmu::TlbTag Machine::tlb_tag() const {
  mmu::TlbTag t;
  t.pcid = (cpu_.cr4 & CR4_PCIDE) ? uint16_t(cpu_.cr3 & 0xFFF) : 0;
  t.vpid = vpid_tag_;
  t.ept = ept_tag_;
  return t;
}

// Translation in the current context, then the APIC-access page of VMX non-root
// operation (SDM Vol. 3C 29.4): an access that reaches it is either virtualized (its
// physical address becomes the virtual-APIC page's, never cached in the host TLB) or
// an APIC-access VM exit (vmx/apicv.cpp).
Machine::Xlate Machine::translate_access(uint64_t lin, const mmu::WalkAccess& a) {
  Xlate x = translate_paging(lin, a);
  const uint64_t apic = vmx_.apic_access_page();
  if (NS_UNLIKELY(apic != ~0ull) && (x.pa & ~0xFFFull) == apic) {
    x.pa = vmx_.apic_access(cpu_, x.pa, a.type, a.implicit, cpu_.in_delivery, a.size);
    x.nofill = true;
  }
  return x;
}

Machine::Xlate Machine::translate_paging(uint64_t lin, const mmu::WalkAccess& a) {
  if (NS_UNLIKELY(ept_on_)) return translate_nested(lin, a);
  if (!(cpu_.cr0 & CR0_PG)) return {lin, false};
  const mmu::PagingControls& ctl = paging_controls();
  const mmu::TlbTag tag = tlb_tag();
  // Fetches use their own TLB and are not charged: the block loop translates code only
  // when it looks a block up outside the jump cache, the stepped loop (TF, tracing) at
  // every instruction, and neither may change the data side's timing (docs/TIMING.md).
  const bool fetch = a.type == Access::kExec;
  mmu::Tlb& tlb = fetch ? itlb_ : tlb_;
  if (mmu::TlbEntry* e = tlb.lookup(lin, tag)) {
    if (!mmu::access_fault(e->t, ctl, a) && (!a.write() || e->t.dirty))
      return {e->t.pa(lin), e->t.shift > 12, e->t.shift};
    // Refused by the cached rights, or the first write to a clean page: look at the
    // paging structures again. A #PF would invalidate the entry anyway (SDM Vol. 3A
    // 4.10.4.1), and a write must set D in memory (4.8).
    tlb.invalidate_page(lin, tag);
  }
  PhysPtes ptes(mem_, code_, counters.smc_invalidations);
  const mmu::WalkResult r = mmu::walk(ptes, ctl, lin, a);
  counters.page_walks++;
  counters.walk_refs += r.refs;
  if (!fetch) cpu_.cycles += model_->timing.tlb_miss + uint64_t(r.refs) * model_->timing.walk_ref;
  if (!r.ok) {
    counters.page_faults++;
    isa::raise_page_fault(lin, r.error);
  }
  // Only a walk that set the accessed flags may be cached (SDM Vol. 3A 4.10.2.1).
  if (a.set_ad) tlb.insert(lin, tag, r.t);
  return {r.t.pa(lin), r.t.shift > 12, r.t.shift};
}

// VMX non-root operation with EPT (SDM Vol. 3C 28.2, 28.3): the guest walk composed
// with EPT (mmu/nested.h), cached as combined mappings under the EP4TA tag. Each
// reference of both walks is charged like a walk reference; EPT violations and
// misconfigurations are VM exits raised from here (the run loop completes them with
// RIP at the instruction).
Machine::Xlate Machine::translate_nested(uint64_t lin, const mmu::WalkAccess& a) {
  const mmu::PagingControls& ctl = paging_controls();
  const mmu::TlbTag tag = tlb_tag();
  const bool fetch = a.type == Access::kExec;
  mmu::Tlb& tlb = fetch ? itlb_ : tlb_;
  if (mmu::TlbEntry* e = tlb.lookup(lin, tag)) {
    if (mmu::tlb_serves(e->t, a) && !mmu::access_fault(e->t, ctl, a) && (!a.write() || e->t.dirty))
      return {e->t.pa(lin), e->t.shift > 12};
    tlb.invalidate_page(lin, tag);
  }
  PhysPtes ptes(mem_, code_, counters.smc_invalidations);
  mmu::NestedControls nc;
  nc.guest = ctl;
  nc.ept = ept_ctl_;
  nc.ept.pml = &pml_;
  nc.ept_tag = ept_tag_;
  nc.advanced_info = model_->vmx.ept_vpid & vmx::EPT_CAP_ADVANCED_INFO;
  const mmu::NestedResult r = mmu::nested_walk(ptes, nc, lin, a, &tlbs_.gpa());
  counters.page_walks++;
  counters.walk_refs += r.refs();
  counters.ept_refs += r.ept_refs;
  if (!fetch) cpu_.cycles += model_->timing.tlb_miss + uint64_t(r.refs()) * model_->timing.walk_ref;
  vmx::ExitInfo e;
  switch (r.outcome) {
    case mmu::NestedOutcome::kOk:
      if (a.set_ad) tlb.insert(lin, tag, r.t);
      return {r.t.pa(lin), r.t.shift > 12};
    case mmu::NestedOutcome::kPageFault:
      counters.page_faults++;
      isa::raise_page_fault(lin, r.error);
    case mmu::NestedOutcome::kEptViolation:
      tlb.invalidate_page(lin, tag);
      e.reason = uint32_t(vmx::ExitReason::EPT_VIOLATION);
      e.qualification = r.qualification;
      e.guest_linear = lin;
      e.has_linear = (r.qualification >> 7) & 1;
      break;
    case mmu::NestedOutcome::kEptMisconfig:
      e.reason = uint32_t(vmx::ExitReason::EPT_MISCONFIG);
      break;
    default:  // kPmlFull: an EPT dirty flag to log with the log full (SDM Vol. 3C 28.2.6)
      e.reason = uint32_t(vmx::ExitReason::PML_FULL);
      break;
  }
  e.guest_physical = r.gpa;
  e.has_physical = true;
  counters.ept_exits++;
  vmx_.raise_exit(e);
}

uint64_t Machine::translate(uint64_t lin, Access a) {
  mmu::WalkAccess wa;
  wa.type = a;
  wa.cpl = cpu_.cpl;
  const Xlate x = translate_access(lin, wa);
  // A fresh fetch translation of this page: the jump-cache entries banked for it at the
  // last VM entry or exit may come back (sim/code_cache.h).
  if (a == Access::kExec) code_.revalidate(lin, x.pa, x.shift);
  return x.pa;
}

// Host-TLB fill after an allowed access (isa/cpu.h invariants): RAM only, no write
// entries for pages holding code, no data entries while data accesses must take the
// slow path. Write entries are only filled by writes, whose translation is dirty.
void Machine::fill_tlb(uint64_t lin, uint64_t pa, Access a) {
  if (a != Access::kExec && cpu_.slow_data) return;
  if (!mem_.in_ram(pa & ~0xFFFull, isa::kPageSize)) return;
  if (a == Access::kWrite && mem_.page_has_code(pa)) return;  // keep SMC visible
  counters.tlb_fills++;
  isa::TlbEntry e;
  e.vpn = lin >> 12;
  e.addend = uintptr_t(mem_.ram() + (pa & ~0xFFFull)) - (lin & ~0xFFFull);
  unsigned i = e.vpn & (isa::kTlbSize - 1);
  if (host_tlb_used_n_ < kHostTlbUsedMax) host_tlb_used_[host_tlb_used_n_++] = uint16_t(i);
  else host_tlb_used_overflow_ = true;
  (a == Access::kWrite ? cpu_.tlb_write : a == Access::kExec ? cpu_.tlb_exec : cpu_.tlb_read)[i] = e;
}

void Machine::flush_host_tlb() {
  if (host_tlb_used_overflow_) {
    cpu_.flush_tlb();
  } else {
    for (unsigned k = 0; k < host_tlb_used_n_; k++) {
      const unsigned i = host_tlb_used_[k];
      cpu_.tlb_read[i] = cpu_.tlb_write[i] = cpu_.tlb_exec[i] = isa::TlbEntry{};
    }
  }
  host_tlb_used_n_ = 0;
  host_tlb_used_overflow_ = false;
  host_tlb_large_ = false;
}

// Host entries for the page of `lin`; when some came from a large page, any of its
// 4 KiB pieces may be cached, so everything goes.
void Machine::flush_host_page(uint64_t lin) {
  if (host_tlb_large_) return flush_host_tlb();
  const unsigned i = (lin >> 12) & (isa::kTlbSize - 1);
  for (isa::TlbEntry* t : {cpu_.tlb_read, cpu_.tlb_write, cpu_.tlb_exec})
    if (t[i].vpn == (lin >> 12)) t[i] = isa::TlbEntry{};
}

// #AC(0) for a misaligned data access with CR0.AM = 1, RFLAGS.AC = 1 at CPL 3 (SDM
// Vol. 3A 6.15 "Interrupt 17"). Only reached when Cpu::slow_data is set.
void Machine::check_alignment(isa::Cpu& c, uint64_t lin, unsigned size) {
  if (!(c.cr0 & CR0_AM) || !(c.rflags & isa::FLAG_AC) || c.cpl != 3) return;
  if (lin & (ac_alignment(size) - 1)) isa::raise_fault(isa::VEC_AC, 0);
}

void Machine::read_slow(isa::Cpu& c, uint64_t lin, void* dst, unsigned size, Access a) {
  if (c.long64) check_canonical(lin, size);
  const bool data = a != Access::kExec && c.slow_data;
  if (NS_UNLIKELY(data)) check_alignment(c, lin, size);
  const uint64_t lin0 = lin;
  const unsigned size0 = size;
  auto* d = static_cast<uint8_t*>(dst);
  mmu::WalkAccess wa;
  wa.type = a;
  wa.cpl = c.cpl;
  while (size) {
    unsigned chunk = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
    wa.size = uint16_t(chunk);
    const Xlate x = translate_access(lin, wa);
    mem_read(mem_, x.pa, d, chunk);
    if (!x.nofill) fill_tlb(lin, x.pa, a);
    host_tlb_large_ |= x.large;
    lin += chunk, d += chunk, size -= chunk;
  }
  if (NS_UNLIKELY(data)) isa::match_data_breakpoints(c, lin0, size0, false);
}

void Machine::probe_write(isa::Cpu& c, uint64_t lin, unsigned size) {
  if (c.long64) check_canonical(lin, size);
  if (NS_UNLIKELY(c.slow_data)) check_alignment(c, lin, size);
  mmu::WalkAccess wa;
  wa.type = Access::kWrite;
  wa.cpl = c.cpl;
  wa.set_ad = false;  // a probe checks; the write that follows sets A/D
  for (uint64_t p = lin & ~0xFFFull; p <= ((lin + size - 1) & ~0xFFFull); p += isa::kPageSize) {
    const uint64_t start = p < lin ? lin : p, end = std::min(p + isa::kPageSize, lin + size);
    wa.size = uint16_t(end - start);
    translate_access(start, wa);
  }
}

// Translates every page first so that a fault on the second page leaves memory
// untouched, then writes, invalidating decoded code on the way (exact SMC).
void Machine::write_pages(uint64_t lin, const void* src, unsigned size, const mmu::WalkAccess& wa,
                          bool fill) {
  const unsigned first = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
  if (NS_LIKELY(first == size && size)) {  // one page: the loop below, once
    mmu::WalkAccess w = wa;
    w.size = uint16_t(size);
    const Xlate x = translate_access(lin, w);
    if (mem_.in_ram(x.pa, 1) && mem_.page_has_code(x.pa)) {
      counters.smc_invalidations += code_.invalidate_page(x.pa);
      mem_.clear_code_page(x.pa);
    }
    mem_write(mem_, x.pa, src, size);
    if (fill && !x.nofill) {
      fill_tlb(lin, x.pa, Access::kWrite);
      host_tlb_large_ |= x.large;
    }
    return;
  }
  mmu::WalkAccess w = wa;
  w.size = uint16_t(first);
  const Xlate x0 = translate_access(lin, w);
  w.size = uint16_t(size - first);
  const Xlate x1 = first < size ? translate_access(lin + first, w) : Xlate{0, false};
  auto* s = static_cast<const uint8_t*>(src);
  const uint64_t pas[2] = {x0.pa, x1.pa};
  const unsigned lens[2] = {first, size - first};
  for (unsigned i = 0; i < 2 && lens[i]; i++) {
    const uint64_t pa = pas[i];
    if (mem_.in_ram(pa, 1) && mem_.page_has_code(pa)) {
      // Drop every block decoded from this page. If the current block is among them
      // its remaining instructions are cut off.
      counters.smc_invalidations += code_.invalidate_page(pa);
      mem_.clear_code_page(pa);
    }
    mem_write(mem_, pa, s, lens[i]);
    if (fill && !(i ? x1 : x0).nofill) {
      fill_tlb(i ? lin + first : lin, pa, Access::kWrite);
      host_tlb_large_ |= (i ? x1 : x0).large;
    }
    s += lens[i];
  }
}

void Machine::write_slow(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) {
  if (c.long64) check_canonical(lin, size);
  const bool data = c.slow_data;
  if (NS_UNLIKELY(data)) check_alignment(c, lin, size);
  mmu::WalkAccess wa;
  wa.type = Access::kWrite;
  wa.cpl = c.cpl;
  write_pages(lin, src, size, wa, true);
  if (NS_UNLIKELY(data)) isa::match_data_breakpoints(c, lin, size, true);
}

void Machine::protect_code_page(uint64_t pa) {
  if (mem_.page_has_code(pa)) return;
  mem_.add_code_page(pa);
  // Remove write entries that point at this page, so stores take the slow path.
  uintptr_t host = uintptr_t(mem_.ram() + (pa & ~0xFFFull));
  for (auto& e : cpu_.tlb_write)
    if (e.vpn != ~0ull && (e.vpn << 12) + e.addend == host) e = isa::TlbEntry{};
}

// Implicit supervisor-mode accesses (SDM Vol. 3A 4.6): supervisor rights whatever the
// CPL (SMAP refuses them at CPL 3 even with RFLAGS.AC = 1), no alignment checks or
// data breakpoints, never cached in the host TLB. A non-canonical address is #GP(0).
void Machine::read_system(isa::Cpu& c, uint64_t lin, void* dst, unsigned size) {
  if (c.long64) {
    const uint8_t seg = c.slow_seg;
    c.slow_seg = isa::DS;
    check_canonical(lin, size);
    c.slow_seg = seg;
  }
  mmu::WalkAccess wa;
  wa.type = Access::kRead;
  wa.cpl = c.cpl;
  wa.implicit = true;
  auto* d = static_cast<uint8_t*>(dst);
  while (size) {
    unsigned chunk = unsigned(std::min<uint64_t>(size, isa::kPageSize - (lin & 0xFFF)));
    mem_.read(translate_access(lin, wa).pa, d, chunk);
    lin += chunk, d += chunk, size -= chunk;
  }
}

void Machine::write_system(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) {
  if (c.long64) {
    const uint8_t seg = c.slow_seg;
    c.slow_seg = isa::DS;
    check_canonical(lin, size);
    c.slow_seg = seg;
  }
  mmu::WalkAccess wa;
  wa.type = Access::kWrite;
  wa.cpl = c.cpl;
  wa.implicit = true;
  write_pages(lin, src, size, wa, false);
}

// An event delivery's frame on the inner-privilege stack: an explicit access at the
// new CPL (SMAP with RFLAGS.AC applies), never cached in the host TLB, which holds
// entries for the current CPL.
void Machine::write_privileged(isa::Cpu& c, uint64_t lin, const void* src, unsigned size,
                               unsigned cpl) {
  if (c.long64) {
    const uint8_t seg = c.slow_seg;
    c.slow_seg = isa::SS;
    check_canonical(lin, size);
    c.slow_seg = seg;
  }
  mmu::WalkAccess wa;
  wa.type = Access::kWrite;
  wa.cpl = uint8_t(cpl);
  wa.implicit = false;
  write_pages(lin, src, size, wa, false);
}

// ---- paging events -------------------------------------------------------------

// SDM Vol. 3A 4.4.1: loading the PDPTE registers; a reserved bit in a present PDPTE
// makes the MOV CR #GP(0) (its caller restores the old register value).
void Machine::load_pdptes_or_gp() {
  PhysPtes ptes(mem_, code_, counters.smc_invalidations);
  if (ept_on_) {
    // Under EPT the PDPTEs are read through EPT (SDM Vol. 3C 28.3.3.2 / Vol. 3A 4.4.1).
    uint64_t out[4];
    const mmu::NestedResult r = mmu::load_pdptes_ept(ptes, ept_ctl_, cpu_.cr3, model_->maxphyaddr,
                                                     out, &tlbs_.gpa(), ept_tag_);
    counters.walk_refs += r.refs();
    cpu_.cycles += uint64_t(r.refs()) * model_->timing.walk_ref;
    if (r.outcome == mmu::NestedOutcome::kGeneralProtection) isa::raise_gp0();
    if (r.outcome != mmu::NestedOutcome::kOk) {
      vmx::ExitInfo e;
      e.reason = uint32_t(r.outcome == mmu::NestedOutcome::kEptViolation ? vmx::ExitReason::EPT_VIOLATION
                                                                         : vmx::ExitReason::EPT_MISCONFIG);
      e.qualification = r.qualification;
      e.guest_physical = r.gpa;
      e.has_physical = true;
      vmx_.raise_exit(e);
    }
    for (unsigned i = 0; i < 4; i++) cpu_.pdpte[i] = out[i];
    ctl_valid_ = false;
    return;
  }
  counters.walk_refs += 4;
  cpu_.cycles += 4ull * model_->timing.walk_ref;
  if (!mmu::load_pdptes(ptes, cpu_.cr3, model_->maxphyaddr, cpu_.pdpte)) isa::raise_gp0();
  ctl_valid_ = false;
}

void Machine::reset_paging() {
  tlbs_.flush_all();
  code_.drop_banks();
  ept_on_ = false;
  flush_host_tlb();
  code_.flush_jump_cache();
  paging_cr0_ = paging_cr4_ = 0;
  ctl_valid_ = false;
}

// Invalidations per SDM Vol. 3A 4.10.4.1. The modelled TLB follows the SDM exactly;
// the host TLB and the jump cache, which cache only current translations, are
// cleared whenever something current may have changed.
void Machine::paging_event(isa::Cpu& c, PagingEvent ev, uint64_t addr, uint64_t pcid) {
  const mmu::TlbTag cur = tlb_tag();
  mmu::TlbTag tag = cur;
  tag.pcid = uint16_t(pcid & 0xFFF);
  switch (ev) {
    case PagingEvent::kCr3Write:
      // PAE paging reloads the PDPTEs on every MOV to CR3.
      if (pae_legacy(c)) load_pdptes_or_gp();
      // PCIDE = 0: PCID 0's non-global entries; PCIDE = 1: the new PCID's, unless
      // bit 63 of the source operand was set.
      if (!(c.cr4 & CR4_PCIDE) || !(addr >> 63))
        for (mmu::Tlb* t : {&tlb_, &itlb_}) t->invpcid_single(cur);
      flush_host_tlb();
      code_.flush_jump_cache();
      break;
    case PagingEvent::kModeChange: {
      // PDPTEs are loaded when PAE paging is in use after a MOV to CR0/CR4 that
      // changes CR0.PG, CR4.PAE/PGE/PSE/SMEP (SDM Vol. 3A 4.4.1).
      const uint64_t cr4_bits = CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP;
      if (pae_legacy(c) &&
          (((c.cr0 ^ paging_cr0_) & CR0_PG) || ((c.cr4 ^ paging_cr4_) & cr4_bits)))
        load_pdptes_or_gp();
      // CR4.PGE changes, CR4.PCIDE 1->0 and CR0.PG 1->0 flush global entries too; the
      // other paging-mode changes (WP, PAE, PSE, SMEP, SMAP, PKE, LA57, NXE) at least
      // every entry of the current PCID. Flushing everything covers them all.
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->flush_all();
      flush_host_tlb();
      code_.flush_jump_cache();
      break;
    }
    case PagingEvent::kCplChange:
      // Rights differ by CPL: host entries were filled for the old one, and cached
      // blocks were fetched with its U/S (and SMEP) outcome.
      flush_host_tlb();
      if (c.cr0 & CR0_PG) code_.flush_jump_cache();
      break;
    case PagingEvent::kAcChange:  // SMAP's outcome for explicit supervisor accesses
    case PagingEvent::kPkruChange:  // data rights of user pages
      for (auto& e : cpu_.tlb_read) e = isa::TlbEntry{};
      cpu_.flush_write_tlb();
      break;
    case PagingEvent::kInvlpg:
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->invlpg(addr, cur);
      flush_host_page(addr);
      code_.flush_jump_cache();
      break;
    case PagingEvent::kInvpcidAddress:
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->invpcid_address(addr, tag);
      if (tag.pcid == cur.pcid) {
        flush_host_page(addr);
        code_.flush_jump_cache();
      }
      break;
    case PagingEvent::kInvpcidSingle:
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->invpcid_single(tag);
      if (tag.pcid == cur.pcid) {
        flush_host_tlb();
        code_.flush_jump_cache();
      }
      break;
    case PagingEvent::kInvpcidAllGlobal:
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->flush_all();
      flush_host_tlb();
      code_.flush_jump_cache();
      break;
    case PagingEvent::kInvpcidAllNonGlobal:
      for (mmu::Tlb* t : {&tlb_, &itlb_}) t->flush_all_non_global();
      flush_host_tlb();
      code_.flush_jump_cache();
      break;
  }
  paging_cr0_ = c.cr0;
  paging_cr4_ = c.cr4;
}

}  // namespace sim
