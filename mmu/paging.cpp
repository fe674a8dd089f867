#include "mmu/paging.h"

namespace mmu {
namespace {

constexpr uint64_t bits(unsigned hi, unsigned lo) {
  return hi < lo ? 0 : ((hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1));
}

// x86 paging-structure entry bits (SDM Vol. 3A tables 4-4..4-28).
enum : uint64_t {
  PTE_P = 1u << 0, PTE_RW = 1u << 1, PTE_US = 1u << 2, PTE_A = 1u << 5, PTE_D = 1u << 6,
  PTE_PS = 1u << 7, PTE_G = 1u << 8, PTE_XD = 1ull << 63,
};
// EPT entry bits (SDM Vol. 3C tables 28-1..28-7).
enum : uint64_t {
  EPT_R = 1u << 0, EPT_W = 1u << 1, EPT_X = 1u << 2, EPT_PS = 1u << 7, EPT_A = 1u << 8,
  EPT_D = 1u << 9,
};

// One entry a walk used: where it is and what it held, for the A/D updates.
struct PathEntry {
  uint64_t pa, value;
};

// What a format decides about one present-or-not entry at one level.
enum class Step : uint8_t { kNext, kLeaf, kFail };

// The loop every format shares (STYLE.md principle 8): index the table at `level`
// with the address bits of that level, read the entry, let the format judge it.
// Levels count down from `top` to 1 (the page table); the judge returns kNext with
// the next table in `next`, kLeaf when the entry maps the page, kFail to stop.
template <class Judge>
Step walk_levels(PteMemory& mem, uint64_t table, uint64_t addr, int top, unsigned index_bits,
                 unsigned entry_bytes, PathEntry* path, unsigned& n, unsigned& refs,
                 int& level, Judge&& judge) {
  for (level = top; level >= 1; level--) {
    const unsigned shift = 12 + index_bits * unsigned(level - 1);
    const uint64_t idx = (addr >> shift) & ((1ull << index_bits) - 1);
    const uint64_t pa = table + idx * entry_bytes;
    const uint64_t e = mem.read_pte(pa, entry_bytes);
    refs++;
    path[n++] = {pa, e};
    uint64_t next = 0;
    Step s = judge(level, e, next);
    if (s != Step::kNext) return s;
    table = next;
  }
  return Step::kFail;  // not reached: level 1 entries are always leaves
}

bool is_long(PagingFormat f) { return f == PagingFormat::k4Level || f == PagingFormat::k5Level; }

// Reserved bits of a present x86 entry at `level` (SDM Vol. 3A 4.3 for 32-bit paging,
// tables 4-8..4-11 for PAE, 4-14..4-20 for 4-/5-level paging). 32-bit paging has
// reserved bits only in 4 MiB PDEs: bits 21:(M-19) beyond the PSE-36 address bits,
// with M = min(MAXPHYADDR, 40).
// `base` is reserved_base(c), computed once per walk.
uint64_t reserved_bits(const PagingControls& c, uint64_t base, int level, uint64_t e) {
  if (c.format == PagingFormat::k32Bit) {
    if (level == 2 && c.pse && (e & PTE_PS)) {
      unsigned m = c.maxphyaddr < 40 ? c.maxphyaddr : 40;
      return bits(21, m - 19);
    }
    return 0;
  }
  uint64_t r = base;
  if (level >= 4) r |= PTE_PS;  // PML5E, PML4E: bit 7 reserved
  if (level == 3 && (e & PTE_PS)) r |= c.page1g ? bits(29, 13) : PTE_PS;
  if (level == 2 && (e & PTE_PS)) r |= bits(20, 13);
  return r;
}

// Reserved at every level of PAE and 4-/5-level paging: PAE entries reserve bits
// 62:M, 4-/5-level entries 51:M (62:52 are ignored or hold the protection key); XD is
// reserved without EFER.NXE.
uint64_t reserved_base(const PagingControls& c) {
  uint64_t r = c.format == PagingFormat::kPae ? bits(62, c.maxphyaddr) : bits(51, c.maxphyaddr);
  if (!c.nxe) r |= PTE_XD;
  return r;
}

uint64_t addr_mask(uint8_t maxphyaddr) { return bits(maxphyaddr - 1, 12); }

}  // namespace

PagingControls PagingControls::from_state(const isa::CpuState& s, const uint64_t pdpte[4],
                                          uint8_t maxphyaddr, bool page1g) {
  PagingControls c;
  const bool pg = (s.cr0 >> 31) & 1, pae = (s.cr4 >> 5) & 1, lma = (s.efer >> 10) & 1;
  c.format = !pg ? PagingFormat::kNone
             : !pae ? PagingFormat::k32Bit
             : !lma ? PagingFormat::kPae
             : ((s.cr4 >> 12) & 1) ? PagingFormat::k5Level
                                   : PagingFormat::k4Level;
  c.cr3 = s.cr3;
  for (unsigned i = 0; i < 4; i++) c.pdpte[i] = pdpte ? pdpte[i] : 0;
  c.maxphyaddr = maxphyaddr;
  c.page1g = page1g;
  c.wp = (s.cr0 >> 16) & 1;
  c.pse = (s.cr4 >> 4) & 1;
  c.pge = (s.cr4 >> 7) & 1;
  c.smep = (s.cr4 >> 20) & 1;
  c.smap = (s.cr4 >> 21) & 1;
  c.pke = (s.cr4 >> 22) & 1;
  c.nxe = (s.efer >> 11) & 1;
  c.ac = s.rflags & isa::FLAG_AC;
  c.pkru = s.pkru;
  return c;
}

uint32_t access_error_bits(const PagingControls& c, const WalkAccess& a) {
  uint32_t err = 0;
  if (a.write()) err |= PFERR_W;
  if (a.user()) err |= PFERR_US;
  // I/D is reported only when an instruction fetch could be refused by a bit other
  // than U/S: with SMEP, or XD under PAE/4-/5-level paging (SDM Vol. 3A 4.7).
  if (a.fetch() && (c.smep || (c.nxe && c.format != PagingFormat::k32Bit))) err |= PFERR_ID;
  return err;
}

// SDM Vol. 3A 4.6.1 (access rights) and 4.6.2 (protection keys).
uint32_t access_fault(const Translation& t, const PagingControls& c, const WalkAccess& a) {
  // Paging off (a combined mapping of an unrestricted guest): no rights at all, SMEP
  // and SMAP included, whatever CR4 holds.
  if (c.format == PagingFormat::kNone) return 0;
  bool fault = false;
  uint32_t pk = 0;
  if (a.fetch()) {
    if (t.nx) fault = true;
    if (a.user()) fault |= !t.user;
    else fault |= t.user && c.smep;  // SMEP: no supervisor fetches from user pages
  } else {
    if (a.user()) {
      fault |= !t.user || (a.write() && !t.writable);
    } else {
      // SMAP: supervisor data accesses to user pages are refused unless CPL < 3 and
      // RFLAGS.AC = 1; implicit accesses made at CPL 3 are refused whatever AC is.
      if (t.user && c.smap && !(c.ac && a.cpl < 3)) fault = true;
      if (a.write() && !t.writable && c.wp) fault = true;
    }
    // Protection keys apply to data accesses to user-mode addresses under 4-/5-level
    // paging: AD refuses every data access, WD refuses writes (supervisor writes only
    // when CR0.WP = 1).
    if (c.pke && t.user && is_long(c.format)) {
      const bool ad = (c.pkru >> (2 * t.pkey)) & 1, wd = (c.pkru >> (2 * t.pkey + 1)) & 1;
      if (ad || (a.write() && wd && (a.user() || c.wp))) {
        fault = true;
        pk = PFERR_PK;
      }
    }
  }
  return fault ? PFERR_P | access_error_bits(c, a) | pk : 0;
}

// 4-/5-level paging (SDM Vol. 3A 4.5), the walk of every 64-bit TLB miss: the loop of
// walk_levels specialised by hand for 8-byte entries and 9 index bits, with the
// reserved-bit masks computed once per walk instead of per level and the rights
// combined as bit masks. It decides exactly as walk_generic() does, reference for
// reference (tests/mmu/paging_test.cpp runs both over random tables and controls):
//   - reserved: bits 51:MAXPHYADDR and, without EFER.NXE, bit 63 in every entry;
//     PS in a PML5E/PML4E; in a PDPTE with PS, bits 29:13 (PS itself without
//     Page1GB); in a PDE with PS, bits 20:13; nothing more in a PTE (bit 7 is PAT);
//   - XD is OR-ed without testing EFER.NXE: without it a set XD is reserved and the
//     walk has already failed.
static WalkResult walk_long(PteMemory& mem, const PagingControls& c, uint64_t lin,
                            const WalkAccess& a) {
  WalkResult r;
  // addr_mask() and reserved_base() without their range checks: MAXPHYADDR is at
  // most 52 (SDM Vol. 3A 4.1.4), and above 12 for any model that pages.
  const unsigned m = c.maxphyaddr;
  const bool plain = m > 12 && m <= 52;
  const uint64_t below = plain ? (1ull << m) - 1 : 0;  // bits m-1:0
  const uint64_t amask = plain ? below & ~0xFFFull : addr_mask(c.maxphyaddr);
  const uint64_t rsvd = plain ? ((((1ull << 52) - 1) & ~below) | (c.nxe ? 0 : PTE_XD))
                              : reserved_base(c);
  const uint64_t rsvd_1g = c.page1g ? bits(29, 13) : PTE_PS;
  uint64_t pas[5], vals[5];
  uint64_t all = PTE_US | PTE_RW | PTE_A, any = 0;  // U/S, R/W and A AND-ed, XD OR-ed
  uint64_t table = c.cr3 & amask;
  unsigned n = 0;
  unsigned shift = c.format == PagingFormat::k5Level ? 48 : 39;  // 12 + 9 * (level - 1)
  for (;; shift -= 9) {
    const uint64_t pa = table + (((lin >> shift) & 511) << 3);
    const uint64_t e = mem.read_pte(pa, 8);
    pas[n] = pa, vals[n] = e, n++;
    if (!(e & PTE_P)) {
      r.refs = n;
      r.error = access_error_bits(c, a);
      return r;
    }
    uint64_t rs = rsvd;
    bool leaf = shift == 12;
    if (shift >= 39) {
      rs |= PTE_PS;  // PML5E, PML4E
    } else if (e & PTE_PS) {
      if (shift == 30) rs |= rsvd_1g, leaf = true;
      else if (shift == 21) rs |= bits(20, 13), leaf = true;
    }
    if (e & rs) {
      r.refs = n;
      r.error = PFERR_P | PFERR_RSVD | access_error_bits(c, a);
      return r;
    }
    all &= e;
    any |= e;
    if (leaf) break;
    table = e & amask;
  }
  r.refs = n;
  const uint64_t leafe = vals[n - 1];
  Translation& t = r.t;
  t.shift = uint8_t(shift);
  t.page_base = leafe & amask & ~(t.size() - 1);
  t.user = all & PTE_US;
  t.writable = all & PTE_RW;
  t.nx = any & PTE_XD;
  t.global = c.pge && (leafe & PTE_G);
  t.dirty = leafe & PTE_D;
  t.pkey = c.pke ? uint8_t((leafe >> 59) & 0xF) : 0;
  if (uint32_t err = access_fault(t, c, a)) {
    r.error = err;
    return r;
  }
  // SDM Vol. 3A 4.8: A in every entry used, D in the leaf on a write. The loop writes
  // nothing when every A is set already and, for a write, the leaf's D.
  if (a.set_ad && (!(all & PTE_A) || (a.write() && !(leafe & PTE_D)))) {
    for (unsigned i = 0; i < n; i++) {
      uint64_t v = vals[i] | PTE_A;
      if (i == n - 1 && a.write()) v |= PTE_D;
      if (v != vals[i]) {
        mem.write_pte(pas[i], v, 8);
        r.refs++;
      }
    }
  }
  if (a.set_ad && a.write()) t.dirty = true;
  t.rewalk = t.dirty ? 0 : REWALK_WRITE;
  r.ok = true;
  return r;
}

WalkResult walk(PteMemory& mem, const PagingControls& c, uint64_t lin, const WalkAccess& a) {
  if (is_long(c.format)) return walk_long(mem, c, lin, a);
  return walk_generic(mem, c, lin, a);
}

WalkResult walk_generic(PteMemory& mem, const PagingControls& c, uint64_t lin, const WalkAccess& a) {
  WalkResult r;
  if (c.format == PagingFormat::kNone) {
    r.ok = true;
    r.t.page_base = lin & ~0xFFFull;
    r.t.user = r.t.writable = r.t.dirty = true;
    return r;
  }
  const bool legacy = c.format == PagingFormat::k32Bit;
  const unsigned entry_bytes = legacy ? 4 : 8;
  const uint64_t amask = legacy ? 0xFFFFF000ull : addr_mask(c.maxphyaddr);
  bool user = true, writable = true, nx = false;

  // The walk's first table: CR3, or for PAE the PDPTE register for bits 31:30 (PAE
  // PDPTEs carry no access rights, SDM Vol. 3A 4.4.1).
  int top;
  uint64_t table;
  switch (c.format) {
    case PagingFormat::k32Bit: top = 2, table = c.cr3 & 0xFFFFF000ull; break;
    case PagingFormat::kPae: {
      const uint64_t pdpte = c.pdpte[(lin >> 30) & 3];
      if (!(pdpte & PTE_P)) {
        r.error = access_error_bits(c, a);
        return r;
      }
      top = 2, table = pdpte & amask;
      break;
    }
    case PagingFormat::k5Level: top = 5, table = c.cr3 & amask; break;
    default: top = 4, table = c.cr3 & amask; break;
  }

  PathEntry path[5];
  unsigned n = 0;
  int level = 0;
  uint32_t fail = 0;
  const uint64_t rsvd = legacy ? 0 : reserved_base(c);
  Step s = walk_levels(
      mem, table, lin, top, legacy ? 10 : 9, entry_bytes, path, n, r.refs, level,
      [&](int lvl, uint64_t e, uint64_t& next) {
        if (!(e & PTE_P)) {
          fail = access_error_bits(c, a);
          return Step::kFail;
        }
        if (e & reserved_bits(c, rsvd, lvl, e)) {
          fail = PFERR_P | PFERR_RSVD | access_error_bits(c, a);
          return Step::kFail;
        }
        user &= bool(e & PTE_US);
        writable &= bool(e & PTE_RW);
        if (c.nxe) nx |= bool(e & PTE_XD);
        const bool large = (e & PTE_PS) && ((lvl == 2 && (!legacy || c.pse)) || lvl == 3);
        if (lvl == 1 || large) return Step::kLeaf;
        next = e & amask;
        return Step::kNext;
      });
  if (s != Step::kLeaf) {
    r.error = fail;
    return r;
  }

  const uint64_t leaf = path[n - 1].value;
  Translation& t = r.t;
  if (legacy && level == 2) {
    t.shift = 22;  // PSE-36: physical bits 39:32 come from PDE bits 20:13
    t.page_base = (leaf & 0xFFC00000ull) | (((leaf >> 13) & 0xFF) << 32);
    t.page_base &= bits(c.maxphyaddr - 1, 0);
  } else {
    t.shift = uint8_t(12 + 9 * (level - 1));
    t.page_base = leaf & amask & ~(t.size() - 1);
  }
  t.user = user;
  t.writable = writable;
  t.nx = nx;
  t.global = c.pge && (leaf & PTE_G);
  t.dirty = leaf & PTE_D;
  t.pkey = (is_long(c.format) && c.pke) ? uint8_t((leaf >> 59) & 0xF) : 0;

  if (uint32_t err = access_fault(t, c, a)) {
    r.error = err;
    return r;
  }
  // SDM Vol. 3A 4.8: A in every entry used, D in the leaf on a write.
  if (a.set_ad) {
    for (unsigned i = 0; i < n; i++) {
      uint64_t v = path[i].value | PTE_A;
      if (i == n - 1 && a.write()) v |= PTE_D;
      if (v != path[i].value) {
        mem.write_pte(path[i].pa, v, entry_bytes);
        r.refs++;
      }
    }
    if (a.write()) t.dirty = true;
  }
  t.rewalk = t.dirty ? 0 : REWALK_WRITE;
  r.ok = true;
  return r;
}

// SDM Vol. 3A 4.4.1: the PDPTEs sit at CR3[31:5]; a present one with any of bits 2:1,
// 8:5 or 63:MAXPHYADDR set makes the MOV CR that loads them #GP(0).
bool load_pdptes(PteMemory& mem, uint64_t cr3, uint8_t maxphyaddr, uint64_t out[4]) {
  const uint64_t base = cr3 & 0xFFFFFFE0ull;
  uint64_t e[4];
  for (unsigned i = 0; i < 4; i++) {
    e[i] = mem.read_pte(base + 8 * i, 8);
    if ((e[i] & PTE_P) && (e[i] & (bits(2, 1) | bits(8, 5) | bits(63, maxphyaddr)))) return false;
  }
  for (unsigned i = 0; i < 4; i++) out[i] = e[i];
  return true;
}

// ---- EPT --------------------------------------------------------------------------

// SDM Vol. 3C 28.3.3.1: what makes a present EPT entry a misconfiguration. Reserved
// bits by level (28.3.2, the EPT entry formats): 51:MAXPHYADDR everywhere; bits 7:3 in a
// PML5E/PML4E; bits 6:3 in a PDPTE/PDE that references a table; bits 29:12 (1 GiB) or
// 20:12 (2 MiB) in a large leaf; bit 7 itself where the page size is unsupported.
// `above` is bits 51:MAXPHYADDR, computed once per walk.
static bool ept_misconfigured(const EptControls& c, uint64_t above, int level, uint64_t e) {
  if ((e & (EPT_R | EPT_W)) == EPT_W) return true;                 // write without read
  if ((e & 7) == EPT_X && !c.exec_only) return true;                // execute-only unsupported
  uint64_t r = above;
  const bool ps = e & EPT_PS;
  if (level >= 4) r |= bits(7, 3);                                  // PML5E/PML4E
  if (level == 3) r |= !ps ? bits(6, 3) : c.page1g ? bits(29, 12) : EPT_PS;
  if (level == 2) r |= !ps ? bits(6, 3) : c.page2m ? bits(20, 12) : EPT_PS;
  if (e & r) return true;
  const bool leaf = level == 1 || (ps && level <= 3);
  if (leaf) {
    const unsigned mt = (e >> 3) & 7;
    if (mt == 2 || mt == 3 || mt == 7) return true;                 // reserved memory types
  }
  return false;
}

EptResult ept_walk(PteMemory& mem, const EptControls& c, uint64_t gpa, const EptAccess& a) {
  EptResult r;
  const int top = int(c.levels());
  if (top != 4 && top != 5) {  // refused by VM entry and VMFUNC (see paging.h)
    r.outcome = EptOutcome::kMisconfig;
    return r;
  }
  const uint64_t amask = addr_mask(c.maxphyaddr);
  const uint64_t above = bits(51, c.maxphyaddr);
  uint8_t rwx = 7;
  PathEntry path[5];
  unsigned n = 0;
  int level = 0;
  Step s = walk_levels(mem, c.eptp & amask, gpa, top, 9, 8, path, n, r.refs, level,
                       [&](int lvl, uint64_t e, uint64_t& next) {
                         rwx &= uint8_t(e & 7);
                         if (!(e & 7)) {
                           r.outcome = EptOutcome::kViolation;  // not present
                           return Step::kFail;
                         }
                         if (ept_misconfigured(c, above, lvl, e)) {
                           r.outcome = EptOutcome::kMisconfig;
                           return Step::kFail;
                         }
                         if (lvl == 1 || ((e & EPT_PS) && lvl <= 3)) return Step::kLeaf;
                         next = e & amask;
                         return Step::kNext;
                       });
  r.rwx = rwx;
  r.suppress_ve = path[n - 1].value >> 63;
  if (s != Step::kLeaf) return r;
  const uint64_t leaf = path[n - 1].value;
  r.leaf = true;
  r.shift = uint8_t(12 + 9 * (level - 1));
  r.page_base = leaf & amask & ~((1ull << r.shift) - 1);
  r.memtype = uint8_t((leaf >> 3) & 7);
  r.ipat = (leaf >> 6) & 1;
  // SDM Vol. 3C 28.3.3.2: a violation when an entry does not grant the access.
  if ((a.bits() & rwx) != a.bits()) {
    r.outcome = EptOutcome::kViolation;
    return r;
  }
  r.outcome = EptOutcome::kOk;
  r.dirty = !c.ad() || (leaf & EPT_D);
  // SDM Vol. 3C 28.3.5: with A/D enabled, A in every entry used, D in the leaf on writes.
  if (c.ad() && a.set_ad) {
    // SDM Vol. 3C 28.3.6: the log is checked before any flag is set.
    if (c.pml) {
      bool update = a.write && !(leaf & EPT_D);
      for (unsigned i = 0; i < n && !update; i++) update = !(path[i].value & EPT_A);
      if (update && c.pml->full()) {
        r.outcome = EptOutcome::kPmlFull;
        return r;
      }
    }
    for (unsigned i = 0; i < n; i++) {
      uint64_t v = path[i].value | EPT_A;
      if (i == n - 1 && a.write) v |= EPT_D;
      if (v != path[i].value) {
        mem.write_pte(path[i].pa, v, 8);
        r.refs++;
        r.writes++;
      }
    }
    if (a.write) {
      r.dirty_set = !(leaf & EPT_D);
      r.dirty = true;
      if (r.dirty_set && c.pml) c.pml->log(gpa & ~0xFFFull);
    }
  }
  return r;
}

}  // namespace mmu
