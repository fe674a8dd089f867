#include "mmu/nested.h"

namespace mmu {
namespace {

// One guest-physical translation: a cached guest-physical mapping that serves the
// access, else an EPT walk (cached when it succeeds and sets A/D). On failure the
// outcome, gpa, EPT rights and the "suppress #VE" bit go into `r`.
struct Gpa {
  bool ok = false;
  uint64_t hpa = 0;
  uint8_t shift = 12, rwx = 0, rewalk = 0;
};

Gpa translate_gpa(PteMemory& host, const EptControls& ept, uint16_t tag, GuestPhysTlb* gtlb,
                  uint64_t gpa, const EptAccess& a, NestedResult& r) {
  Gpa g;
  const uint8_t need = a.bits();
  if (gtlb) {
    if (const TlbEntry* e = gtlb->lookup(gpa, tag); e && !(e->t.rewalk & need)) {
      r.gtlb_hits++;
      g.ok = true;
      g.hpa = e->t.pa(gpa);
      g.shift = e->t.shift;
      g.rwx = e->t.ept_rwx;
      g.rewalk = e->t.rewalk;
      return g;
    }
  }
  const EptResult w = ept_walk(host, ept, gpa, a);
  r.ept_walks++;
  r.ept_refs += w.refs;
  r.ept_writes += w.writes;
  switch (w.outcome) {
    case EptOutcome::kOk:
      if (gtlb && a.set_ad) gtlb->insert(gpa, tag, w);
      g.ok = true;
      g.hpa = w.hpa(gpa);
      g.shift = w.shift;
      g.rwx = w.rwx;
      g.rewalk = w.rewalk();
      return g;
    case EptOutcome::kViolation:
      r.outcome = NestedOutcome::kEptViolation;
      r.qualification = need | (uint64_t(w.rwx) << 3);
      r.suppress_ve = w.suppress_ve;
      if (gtlb) gtlb->invalidate(gpa, tag);  // SDM Vol. 3C 28.4.3.3
      break;
    case EptOutcome::kMisconfig: r.outcome = NestedOutcome::kEptMisconfig; break;
    case EptOutcome::kPmlFull: r.outcome = NestedOutcome::kPmlFull; break;
  }
  r.gpa = gpa;
  return g;
}

// The guest's paging-structure entries, at guest-physical addresses (SDM Vol. 3C
// 28.3.3.2). After the first EPT failure nothing more is read (reads return a
// not-present entry, which ends mmu::walk) or written.
class GuestPtes final : public PteMemory {
 public:
  GuestPtes(PteMemory& host, const NestedControls& c, GuestPhysTlb* gtlb, bool set_ad,
            NestedResult& r)
      : host_(host), c_(c), gtlb_(gtlb), set_ad_(set_ad), r_(r) {}

  bool failed() const { return failed_; }

  uint64_t read_pte(uint64_t gpa, unsigned size) override {
    if (failed_) return 0;
    // With EPT A/D on, the read is treated as a write (28.3.3.2, 28.3.5).
    EptAccess a;
    a.read = true;
    a.write = c_.ept.ad();
    a.set_ad = set_ad_;
    const Gpa g = translate_gpa(host_, c_.ept, c_.ept_tag, gtlb_, gpa, a, r_);
    if (!g.ok) return fail();
    r_.guest_refs++;
    return host_.read_pte(g.hpa, size);
  }

  void write_pte(uint64_t gpa, uint64_t value, unsigned size) override {
    if (failed_) return;
    EptAccess a;  // an A/D update: a data write
    a.write = true;
    a.set_ad = set_ad_;
    const Gpa g = translate_gpa(host_, c_.ept, c_.ept_tag, gtlb_, gpa, a, r_);
    if (!g.ok) {
      fail();
      return;
    }
    r_.guest_refs++;
    r_.guest_writes++;
    host_.write_pte(g.hpa, value, size);
  }

 private:
  // A fault on a guest paging-structure access: the linear address is valid, the
  // access was not to its translation (bit 8 = 0).
  uint64_t fail() {
    failed_ = true;
    if (r_.outcome == NestedOutcome::kEptViolation) r_.qualification |= EPTQ_GLA_VALID;
    return 0;
  }

  PteMemory& host_;
  const NestedControls& c_;
  GuestPhysTlb* gtlb_;
  bool set_ad_;
  NestedResult& r_;
  bool failed_ = false;
};

EptAccess final_access(const WalkAccess& a) {
  EptAccess e;
  e.read = a.type == isa::Access::kRead;
  e.write = a.type == isa::Access::kWrite;
  e.exec = a.type == isa::Access::kExec;
  e.set_ad = a.set_ad;
  return e;
}

}  // namespace

NestedResult nested_walk(PteMemory& host, const NestedControls& c, uint64_t lin,
                         const WalkAccess& a, GuestPhysTlb* gtlb) {
  NestedResult r;
  GuestPtes ptes(host, c, gtlb, a.set_ad, r);
  const WalkResult w = walk(ptes, c.guest, lin, a);
  if (ptes.failed()) return r;
  if (!w.ok) {
    r.outcome = NestedOutcome::kPageFault;
    r.error = w.error;
    return r;
  }
  const uint64_t gpa = w.t.pa(lin);
  const Gpa g = translate_gpa(host, c.ept, c.ept_tag, gtlb, gpa, final_access(a), r);
  if (!g.ok) {
    if (r.outcome == NestedOutcome::kEptViolation) {
      r.qualification |= EPTQ_GLA_VALID | EPTQ_GLA_TRANSLATION;
      if (c.advanced_info) {
        if (w.t.user) r.qualification |= EPTQ_USER_LA;
        if (w.t.writable) r.qualification |= EPTQ_WRITABLE_LA;
        if (w.t.nx) r.qualification |= EPTQ_NX_LA;
      }
    }
    return r;
  }
  // The combined page: the smaller of the two pages (paging off: the EPT page).
  Translation& t = r.t;
  t = w.t;
  const bool paging = c.guest.format != PagingFormat::kNone;
  t.shift = paging && w.t.shift < g.shift ? w.t.shift : g.shift;
  t.page_base = g.hpa & ~(t.size() - 1);
  t.ept_rwx = g.rwx;
  t.rewalk = uint8_t(w.t.rewalk | g.rewalk);
  t.dirty = w.t.dirty && !(g.rewalk & REWALK_WRITE);
  r.gpa = gpa;
  r.outcome = NestedOutcome::kOk;
  return r;
}

NestedResult ept_translate(PteMemory& host, const EptControls& ept, uint64_t gpa,
                           const EptAccess& a, GuestPhysTlb* gtlb, uint16_t ept_tag) {
  NestedResult r;
  const Gpa g = translate_gpa(host, ept, ept_tag, gtlb, gpa, a, r);
  if (!g.ok) return r;
  r.t.shift = g.shift;
  r.t.page_base = g.hpa & ~(r.t.size() - 1);
  r.t.user = r.t.writable = true;
  r.t.ept_rwx = g.rwx;
  r.t.rewalk = g.rewalk;
  r.t.dirty = !(g.rewalk & REWALK_WRITE);
  r.gpa = gpa;
  return r;
}

// The four PDPTEs sit in one 32-byte block of one page: one EPT translation, then
// load_pdptes (its reserved-bit rule, SDM Vol. 3A 4.4.1) over the host page.
NestedResult load_pdptes_ept(PteMemory& host, const EptControls& ept, uint64_t cr3,
                             uint8_t maxphyaddr, uint64_t out[4], GuestPhysTlb* gtlb,
                             uint16_t ept_tag) {
  struct Relocated final : PteMemory {
    PteMemory& host;
    uint64_t delta;  // hpa - gpa of the page
    Relocated(PteMemory& h, uint64_t d) : host(h), delta(d) {}
    uint64_t read_pte(uint64_t pa, unsigned size) override {
      return host.read_pte(pa + delta, size);
    }
    void write_pte(uint64_t pa, uint64_t v, unsigned size) override {
      host.write_pte(pa + delta, v, size);
    }
  };
  EptAccess a;
  a.read = true;  // a read even with EPT A/D on (28.3.3.2)
  const uint64_t base = cr3 & 0xFFFFFFE0ull;
  NestedResult r = ept_translate(host, ept, base, a, gtlb, ept_tag);
  if (!r.ok()) return r;
  Relocated mem(host, r.t.pa(base) - base);
  r.guest_refs = 4;
  if (!load_pdptes(mem, cr3, maxphyaddr, out)) r.outcome = NestedOutcome::kGeneralProtection;
  return r;
}

}  // namespace mmu
