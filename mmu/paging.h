// The page walker: one walk loop for every paging format (SDM Vol. 3A chapter 4 and,
// for EPT, Vol. 3C 28.3), parameterised by a format descriptor, as KVM's
// mmu/paging_tmpl.h does it. A walk turns an address into either a translation
// (physical page, page size and the access rights it grants) or the exact fault:
// a #PF error code (SDM Vol. 3A 4.7) for the x86 formats, an EPT violation or
// misconfiguration for EPT.
//
// Paging-structure entries are read and written through PteMemory, so that a walk
// of a guest's tables under EPT can translate each entry's guest-physical address
// first (the 2-D walk of issue 5 is this walker composed with itself).
//
// Rules the walker keeps (and its tests check):
//   - reserved bits are checked in every present entry it uses, at every level
//     (SDM Vol. 3A 4.5 and tables 4-4..4-28, 4.3 for 32-bit paging, 4.4 for PAE);
//   - access rights are combined over all levels (U/S and R/W AND-ed, XD OR-ed) and
//     checked after the walk (SDM Vol. 3A 4.6); a TLB hit re-checks the same rights
//     with access_fault() under the current CR0/CR4/RFLAGS/PKRU;
//   - accessed and dirty flags are set only by a walk that succeeds (SDM Vol. 3A
//     4.8), never by one that faults or by a probe;
//   - every paging-structure read and write is counted in WalkResult::refs.
#pragma once
#include <cstdint>

#include "isa/cpu.h"

namespace mmu {

enum class PagingFormat : uint8_t {
  kNone,    // paging off: linear = physical
  k32Bit,   // CR0.PG=1, CR4.PAE=0 (SDM 4.3); 4 MiB pages with CR4.PSE, PSE-36
  kPae,     // CR4.PAE=1, EFER.LMA=0 (SDM 4.4): PDPTE registers, then 2 levels
  k4Level,  // EFER.LMA=1, CR4.LA57=0 (SDM 4.5)
  k5Level,  // EFER.LMA=1, CR4.LA57=1
  kEpt4,    // EPT, 4-level (SDM Vol. 3C 28.3.2)
  kEpt5,    // EPT, 5-level
};

// Reads and writes of paging-structure entries at physical (or guest-physical)
// addresses. `size` is 4 (32-bit paging) or 8.
class PteMemory {
 public:
  virtual ~PteMemory() = default;
  virtual uint64_t read_pte(uint64_t pa, unsigned size) = 0;
  virtual void write_pte(uint64_t pa, uint64_t value, unsigned size) = 0;
};

// The controls an x86 walk depends on, captured from the CPU state.
struct PagingControls {
  PagingFormat format = PagingFormat::kNone;
  uint64_t cr3 = 0;
  uint64_t pdpte[4] = {};    // PAE: the PDPTE registers (SDM 4.4.1)
  uint8_t maxphyaddr = 36;
  bool page1g = false;       // CPUID.80000001H:EDX.Page1GB
  bool wp = false, pse = false, pge = false, nxe = false;
  bool smep = false, smap = false, pke = false;
  bool ac = false;           // RFLAGS.AC
  uint32_t pkru = 0;

  // From CR0/CR3/CR4/EFER/RFLAGS/PKRU; PDPTE registers are copied from `pdpte`.
  static PagingControls from_state(const isa::CpuState& s, const uint64_t pdpte[4],
                                   uint8_t maxphyaddr, bool page1g);
};

// What the access is (SDM Vol. 3A 4.6): an access is a user-mode access when CPL = 3
// and it is not implicit; implicit accesses (descriptor tables, TSS, IDT) are
// supervisor-mode accesses whatever the CPL.
struct WalkAccess {
  isa::Access type = isa::Access::kRead;
  uint8_t cpl = 0;
  bool implicit = false;
  bool set_ad = true;  // false: check only (probes), leave A/D alone
  uint16_t size = 0;   // bytes of the access on this page, 0 when not one access (probes,
                       // fetches): the APIC-access page looks at it (SDM Vol. 3C 29.4)

  bool user() const { return cpl == 3 && !implicit; }
  bool write() const { return type == isa::Access::kWrite; }
  bool fetch() const { return type == isa::Access::kExec; }
};

// #PF error code bits (SDM Vol. 3A 4.7).
enum : uint32_t {
  PFERR_P = 1u << 0, PFERR_W = 1u << 1, PFERR_US = 1u << 2, PFERR_RSVD = 1u << 3,
  PFERR_ID = 1u << 4, PFERR_PK = 1u << 5,
};

// A linear-address translation as a TLB caches it.
struct Translation {
  uint64_t page_base = 0;  // physical address of the page (aligned to its size)
  uint8_t shift = 12;      // log2 of the page size: 12, 21, 22 or 30
  bool user = false;       // U/S = 1 at every level: a user-mode address
  bool writable = false;   // R/W = 1 at every level
  bool nx = false;         // XD = 1 at some level (only with EFER.NXE = 1)
  bool global = false;     // G = 1 in the leaf and CR4.PGE = 1
  bool dirty = false;      // D = 1 in the leaf
  uint8_t pkey = 0;        // protection key (4-/5-level paging with CR4.PKE)
  uint8_t ept_rwx = 7;     // EPT R(0)/W(1)/X(2) of the page (combined and guest-physical
                           // mappings, SDM Vol. 3C 28.4.1); 7 for plain linear mappings
  uint8_t rewalk = 0;      // bit (1 << isa::Access) set: a TLB hit may not serve that access
                           // type, the paging structures must be walked again (see tlb_serves)

  uint64_t size() const { return 1ull << shift; }
  uint64_t pa(uint64_t lin) const { return page_base | (lin & (size() - 1)); }
};

// The re-walk bits of Translation::rewalk, by access type.
enum : uint8_t {
  REWALK_READ = 1u << unsigned(isa::Access::kRead),
  REWALK_WRITE = 1u << unsigned(isa::Access::kWrite),
  REWALK_EXEC = 1u << unsigned(isa::Access::kExec),
};

// Whether a cached translation may serve access `a` without a walk, before the rights
// check of access_fault(). A walk sets REWALK_WRITE when the page is not dirty (the
// first write must set D in memory, SDM Vol. 3A 4.8, and for EPT Vol. 3C 28.3.5), and
// for EPT the access types the EPT entries do not grant (the walk then reports the EPT
// violation). One mask test: a hit costs the same with EPT as without.
inline bool tlb_serves(const Translation& t, const WalkAccess& a) {
  return !((t.rewalk >> unsigned(a.type)) & 1);
}

struct WalkResult {
  bool ok = false;
  uint32_t error = 0;  // #PF error code when !ok
  Translation t;
  unsigned refs = 0;   // paging-structure references (reads and A/D writes)
};

// Walks the x86 paging structures for linear address `lin`.
WalkResult walk(PteMemory& mem, const PagingControls& c, uint64_t lin, const WalkAccess& a);
// The one walk loop for every format (walk_levels in paging.cpp). walk() uses it for
// all but 4-/5-level paging, which has a specialised loop that must decide exactly
// as this one does (tests/mmu/paging_test.cpp compares the two).
WalkResult walk_generic(PteMemory& mem, const PagingControls& c, uint64_t lin,
                        const WalkAccess& a);

// The access rights check of SDM Vol. 3A 4.6 (with protection keys, 4.6.2) for a
// present translation: 0 when allowed, else the #PF error code (P = 1).
uint32_t access_fault(const Translation& t, const PagingControls& c, const WalkAccess& a);

// Error-code bits that describe the access itself (W/R, U/S, I/D; SDM Vol. 3A 4.7).
uint32_t access_error_bits(const PagingControls& c, const WalkAccess& a);

// Loads the four PDPTE registers from CR3 for PAE paging (SDM Vol. 3A 4.4.1): false
// when a present PDPTE has a reserved bit set (MOV CR then raises #GP(0)); `out` is
// then left unchanged. Makes 4 references.
bool load_pdptes(PteMemory& mem, uint64_t cr3, uint8_t maxphyaddr, uint64_t out[4]);

// ---- EPT (SDM Vol. 3C 28.3) ----------------------------------------------------
//
// ept_walk() translates one guest-physical address (28.3.2) and decides, in the SDM's
// order, between
//   - misconfiguration (28.3.3.1): the first present entry of the walk, root first,
//     that is write-only/write-execute, execute-only without the capability, sets a
//     reserved bit of its level, or (in the leaf) holds memory type 2, 3 or 7;
//   - violation (28.3.3.2): a not-present entry (bits 2:0 = 0) before any
//     misconfiguration, or a complete walk whose entries do not all grant the access;
//   - success, after which A is set in every entry used and D in the leaf on a write
//     (28.3.5, only with EPTP bit 6 and the capability).
// A/D flags are written only by a walk that succeeds and has set_ad (with PML, only
// when the log is not full: kPmlFull). Entries are read from and written to `mem` at
// host-physical addresses; every read and A/D write counts in refs. Mode-based execute
// control, sub-page write permissions, supervisor shadow stacks and guest-paging
// verification are not modelled: their bits (10, 57, 58, 60, 61) are ignored, as on a
// processor that lacks the features.
//
// The walk length comes from EPTP bits 5:3 (3 = 4-level, 4 = 5-level). Other values
// fail the VM-entry and VMFUNC checks and never reach a walk architecturally; if one
// does, the walk reads nothing and reports a misconfiguration. A 4-level walk uses
// gpa bits 47:0 and a 5-level walk bits 56:0 (28.3.2); higher bits are ignored.

// Page-modification logging (SDM Vol. 3C 28.3.6), implemented by the VMX side: with
// "enable PML" and EPT A/D on, a walk that must set an EPT A or D flag first asks
// full() (PML index not in 0..511); if it is, the walk sets nothing and reports
// kPmlFull. After each D flag it changes from 0 to 1 it calls log() with the
// guest-physical address of the access (bits 11:0 cleared).
class PmlLog {
 public:
  virtual ~PmlLog() = default;
  virtual bool full() = 0;
  virtual void log(uint64_t gpa_page) = 0;
};

struct EptControls {
  uint64_t eptp = 0;          // bits 5:3 = walk length - 1, bit 6 = A/D enable
  uint8_t maxphyaddr = 36;
  bool exec_only = false;     // IA32_VMX_EPT_VPID_CAP[0]: execute-only translations
  bool page2m = true;         // IA32_VMX_EPT_VPID_CAP[16]
  bool page1g = true;         // IA32_VMX_EPT_VPID_CAP[17]
  bool ad_supported = true;   // IA32_VMX_EPT_VPID_CAP[21]
  PmlLog* pml = nullptr;      // "enable PML" = 1: the log (only consulted with A/D on)

  unsigned levels() const { return unsigned((eptp >> 3) & 7) + 1; }
  bool ad() const { return ad_supported && (eptp & (1u << 6)); }
};

// The access being translated: its R/W/X bits are those of the exit qualification's
// bits 2:0 (SDM Vol. 3C 27.2.1, table 27-7 "Exit Qualification for EPT
// Violations"). set_ad = false checks only (probes).
struct EptAccess {
  bool read = false, write = false, exec = false;
  bool set_ad = true;

  uint8_t bits() const { return uint8_t(read | (write << 1) | (exec << 2)); }
};

enum class EptOutcome : uint8_t { kOk, kViolation, kMisconfig, kPmlFull };

struct EptResult {
  EptOutcome outcome = EptOutcome::kViolation;
  uint64_t page_base = 0;  // host-physical page
  uint8_t shift = 12;
  uint8_t rwx = 0;         // R(0)/W(1)/X(2) granted by every entry walked (AND): the
                           // exit qualification's bits 5:3 (SDM Vol. 3C 27.2.1); 0 when
                           // the walk met a not-present entry
  uint8_t memtype = 0;     // leaf bits 5:3
  bool ipat = false;
  bool leaf = false;       // the walk reached the entry that maps the page
  bool dirty = false;      // kOk: no write needs a D update (leaf D = 1, or A/D off)
  bool dirty_set = false;  // kOk: this walk changed the leaf's D from 0 to 1
  bool suppress_ve = false;  // bit 63 of the last entry read: the "suppress #VE" bit of a
                             // violation (virtualization exceptions, SDM Vol. 3C 25.5.7)
  unsigned refs = 0;         // entry reads and A/D writes
  unsigned writes = 0;       // of which A/D writes
  uint64_t hpa(uint64_t gpa) const { return page_base | (gpa & ((1ull << shift) - 1)); }
  // The access types a cached guest-physical mapping from this walk may not serve.
  uint8_t rewalk() const { return uint8_t((~rwx & 7) | (dirty ? 0 : REWALK_WRITE)); }
};

EptResult ept_walk(PteMemory& mem, const EptControls& c, uint64_t gpa, const EptAccess& a);

// Exit qualification of an EPT violation (SDM Vol. 3C 27.2.1, table 27-7 "Exit
// Qualification for EPT Violations"); mmu/nested.h composes it.
enum : uint64_t {
  EPTQ_READ = 1u << 0, EPTQ_WRITE = 1u << 1, EPTQ_FETCH = 1u << 2,  // the access
  EPTQ_READABLE = 1u << 3, EPTQ_WRITABLE = 1u << 4, EPTQ_EXECUTABLE = 1u << 5,  // the rights
  EPTQ_GLA_VALID = 1u << 7,       // the guest-linear-address field is valid
  EPTQ_GLA_TRANSLATION = 1u << 8, // the access was to the translation of the linear address,
                                  // not to a guest paging-structure entry
  EPTQ_USER_LA = 1u << 9,         // advanced information (EPT_VPID_CAP[22]), bit 8 = 1 only:
  EPTQ_WRITABLE_LA = 1u << 10,    // user-mode linear address, read/write page,
  EPTQ_NX_LA = 1u << 11,          // execute-disable page
  EPTQ_NMI_UNBLOCKING = 1u << 12, // set by the VM exit, not by the walk
};

}  // namespace mmu
