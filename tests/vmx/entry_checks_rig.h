// What the VM-entry check tests share (tests/vmx/entry_checks*_test.cpp): a fake
// physical memory, the rig with five valid baselines (a 64-bit host with a 64-bit
// guest, an unrestricted real-mode guest, a 32-bit PAE guest with and without EPT, a
// virtual-8086 guest), and the table runners: one row per check mutates the fields that
// violate it and expects the exact outcome (failure kind, qualification, SDM section, the
// check's text and the register it applied to).
#pragma once
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "isa/cpu_state.h"
#include "vmx/controls.h"
#include "vmx/entry_checks.h"

namespace entrytest {

using namespace vmx;
using namespace isa;
using F = Field;

// Physical memory of 1 MiB; reads beyond it return 1s. Records the highest address
// any check read, to show that no check reads beyond what it validated.
struct FakeMem : PhysAccess {
  static constexpr uint64_t kSize = 1 << 20;
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kSize, 0);
  uint64_t max_read = 0;
  void phys_read(uint64_t pa, void* dst, size_t n) override {
    auto* d = static_cast<uint8_t*>(dst);
    for (size_t i = 0; i < n; i++) d[i] = pa + i < kSize ? bytes[pa + i] : 0xFF;
    if (pa + n - 1 > max_read) max_read = pa + n - 1;
  }
  void phys_write(uint64_t pa, const void* src, size_t n) override {
    auto* s = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < n; i++)
      if (pa + i < kSize) bytes[pa + i] = s[i];
  }
  void put32(uint64_t pa, uint32_t x) { std::memcpy(&bytes[pa], &x, 4); }
  void put64(uint64_t pa, uint64_t x) { std::memcpy(&bytes[pa], &x, 8); }
};

constexpr uint64_t kCr4Supported = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE |
                                   CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT |
                                   CR4_UMIP | CR4_LA57 | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE |
                                   CR4_SMEP | CR4_SMAP | CR4_PKE;
constexpr uint8_t kMaxPhy = 46;

// Where the baseline puts its pages.
enum : uint64_t {
  IO_A = 0x10000,
  IO_B = 0x11000,
  MSR_BM = 0x12000,
  VAPIC = 0x13000,
  APIC_ACCESS = 0x14000,
  PI_DESC = 0x15040,
  EPT_ROOT = 0x16000,
  PML_PAGE = 0x17000,
  EPTP_LIST = 0x18000,
  VMREAD_BM = 0x19000,
  VMWRITE_BM = 0x1A000,
  MSR_STORE = 0x1B000,
  MSR_EXIT_LOAD = 0x1B100,
  MSR_ENTRY_LOAD = 0x1B200,
  SHADOW_VMCS = 0x1C000,
  VMCS_PA = 0x1D000,
  VMXON_PA = 0x1E000,
  GUEST_PDPT = 0x20000,
};
constexpr uint64_t kEptp = EPT_ROOT | 6 | (3 << 3) | (1 << 6);  // WB, 4 levels, A/D
constexpr uint64_t kPat = 0x0007040600070406ull;
constexpr uint64_t kFar = 1ull << kMaxPhy;                // first address beyond MAXPHYADDR
constexpr uint64_t kNonCanonical57 = 0x0100000000000000;  // bit 56 without bits 63:57
constexpr uint64_t kNonCanonical48 = 0x0000800000000000;  // canonical with 57 bits only

struct Rig {
  VmxCaps caps = server_caps(kMaxPhy, kCr4Supported);
  FakeMem mem;
  Vmcs v;
  EntryContext ctx;
  uint64_t pdpte[4] = {~0ull, ~0ull, ~0ull, ~0ull};

  Rig() { base64(); }

  uint64_t get(F f) const { return v.get(f); }
  void set(F f, uint64_t x) { v.set(f, x); }
  void orr(F f, uint64_t x) { v.set(f, v.get(f) | x); }
  void clr(F f, uint64_t x) { v.set(f, v.get(f) & ~x); }
  void seg(F sel, F base, F limit, F ar, uint64_t s, uint64_t b, uint64_t l, uint64_t a) {
    set(sel, s), set(base, b), set(limit, l), set(ar, a);
  }
  void data_segs(uint64_t s, uint64_t b, uint64_t l, uint64_t a) {
    seg(F::GUEST_SS_SELECTOR, F::GUEST_SS_BASE, F::GUEST_SS_LIMIT, F::GUEST_SS_AR_BYTES, s, b, l,
        a);
    seg(F::GUEST_DS_SELECTOR, F::GUEST_DS_BASE, F::GUEST_DS_LIMIT, F::GUEST_DS_AR_BYTES, s, b, l,
        a);
    seg(F::GUEST_ES_SELECTOR, F::GUEST_ES_BASE, F::GUEST_ES_LIMIT, F::GUEST_ES_AR_BYTES, s, b, l,
        a);
    seg(F::GUEST_FS_SELECTOR, F::GUEST_FS_BASE, F::GUEST_FS_LIMIT, F::GUEST_FS_AR_BYTES, s, b, l,
        a);
    seg(F::GUEST_GS_SELECTOR, F::GUEST_GS_BASE, F::GUEST_GS_LIMIT, F::GUEST_GS_AR_BYTES, s, b, l,
        a);
  }
  void cs(uint64_t s, uint64_t b, uint64_t l, uint64_t a) {
    seg(F::GUEST_CS_SELECTOR, F::GUEST_CS_BASE, F::GUEST_CS_LIMIT, F::GUEST_CS_AR_BYTES, s, b, l,
        a);
  }
  void inject(unsigned type, unsigned vector, bool code = false) {
    set(F::VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | type << INTR_INFO_TYPE_SHIFT | vector |
                                         (code ? uint32_t(INTR_INFO_DELIVER_CODE) : 0u));
  }

  // A 64-bit host entering a 64-bit guest, with most controls that have checks on:
  // I/O and MSR bitmaps, TPR shadow with APIC-access virtualization, APIC-register
  // virtualization, virtual-interrupt delivery and posted interrupts, virtual NMIs,
  // the preemption timer, EPT with A/D, VPID, PML, EPTP switching, VMCS shadowing,
  // MSR lists, PAT/EFER loading.
  void base64() {
    v = Vmcs{};
    v.pa = VMCS_PA;
    v.revision = caps.revision_id;
    ctx = EntryContext{};
    ctx.mem = &mem;
    ctx.vmxon_ptr = VMXON_PA;
    ctx.host_ia32e = true;
    ctx.launch = true;
    set(F::PIN_BASED_VM_EXEC_CONTROL, PIN_DEFAULT1 | PIN_EXTINT_EXITING | PIN_NMI_EXITING |
                                          PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER |
                                          PIN_POSTED_INTR);
    set(F::CPU_BASED_VM_EXEC_CONTROL, CPU_DEFAULT1 | CPU_HLT_EXITING | CPU_USE_IO_BITMAPS |
                                          CPU_USE_MSR_BITMAPS | CPU_TPR_SHADOW |
                                          CPU_SECONDARY_CONTROLS);
    set(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_APIC_ACCESSES | CPU2_EPT | CPU2_VPID |
                                          CPU2_APIC_REG_VIRT | CPU2_VIRT_INTR_DELIVERY | CPU2_PML |
                                          CPU2_VMFUNC | CPU2_VMCS_SHADOWING);
    set(F::VM_EXIT_CONTROLS, EXIT_DEFAULT1 | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT |
                                 EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
                                 EXIT_LOAD_IA32_EFER | EXIT_SAVE_PREEMPTION_TIMER);
    set(F::VM_ENTRY_CONTROLS,
        ENTRY_DEFAULT1 | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER);
    set(F::CR3_TARGET_COUNT, 4);
    set(F::IO_BITMAP_A, IO_A), set(F::IO_BITMAP_B, IO_B), set(F::MSR_BITMAP, MSR_BM);
    set(F::VIRTUAL_APIC_PAGE_ADDR, VAPIC), set(F::TPR_THRESHOLD, 0);
    set(F::APIC_ACCESS_ADDR, APIC_ACCESS);
    set(F::POSTED_INTR_NV, 0xF2), set(F::POSTED_INTR_DESC_ADDR, PI_DESC);
    set(F::VIRTUAL_PROCESSOR_ID, 1);
    set(F::EPT_POINTER, kEptp);
    set(F::PML_ADDRESS, PML_PAGE);
    set(F::VM_FUNCTION_CONTROL, VMFUNC_EPTP_SWITCHING), set(F::EPTP_LIST_ADDRESS, EPTP_LIST);
    set(F::VMREAD_BITMAP, VMREAD_BM), set(F::VMWRITE_BITMAP, VMWRITE_BM);
    set(F::VM_EXIT_MSR_STORE_ADDR, MSR_STORE), set(F::VM_EXIT_MSR_STORE_COUNT, 2);
    set(F::VM_EXIT_MSR_LOAD_ADDR, MSR_EXIT_LOAD), set(F::VM_EXIT_MSR_LOAD_COUNT, 1);
    set(F::VM_ENTRY_MSR_LOAD_ADDR, MSR_ENTRY_LOAD), set(F::VM_ENTRY_MSR_LOAD_COUNT, 1);
    set(F::VMX_PREEMPTION_TIMER_VALUE, 1000);
    mem.bytes[VAPIC + 0x80] = 0x20;  // VTPR
    // The shadow VMCS behind the link pointer.
    mem.put32(SHADOW_VMCS, caps.revision_id | VMCS_SHADOW_INDICATOR);
    mem.put32(VMCS_PA, caps.revision_id);
    mem.put32(VMXON_PA, caps.revision_id);

    // Host: 64-bit, paging with PAE, flat selectors.
    set(F::HOST_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG);
    set(F::HOST_CR3, 0x1000);
    set(F::HOST_CR4, CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE);
    set(F::HOST_ES_SELECTOR, 0x10), set(F::HOST_CS_SELECTOR, 0x08), set(F::HOST_SS_SELECTOR, 0x10);
    set(F::HOST_DS_SELECTOR, 0x10), set(F::HOST_FS_SELECTOR, 0), set(F::HOST_GS_SELECTOR, 0);
    set(F::HOST_TR_SELECTOR, 0x18);
    set(F::HOST_FS_BASE, 0), set(F::HOST_GS_BASE, 0xFFFF888000000000);
    set(F::HOST_TR_BASE, 0x3000), set(F::HOST_GDTR_BASE, 0x4000), set(F::HOST_IDTR_BASE, 0x5000);
    set(F::HOST_IA32_SYSENTER_ESP, 0), set(F::HOST_IA32_SYSENTER_EIP, 0);
    set(F::HOST_IA32_PAT, kPat), set(F::HOST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    set(F::HOST_RSP, 0x8000), set(F::HOST_RIP, 0xFFFFFFFF81000000);

    // Guest: 64-bit code at CPL 0.
    set(F::GUEST_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG);
    set(F::GUEST_CR3, 0x2000);
    set(F::GUEST_CR4, CR4_PAE | CR4_VMXE);
    set(F::GUEST_DR7, 0x400), set(F::GUEST_IA32_DEBUGCTL, 0);
    set(F::GUEST_RSP, 0x7000), set(F::GUEST_RIP, 0x400000), set(F::GUEST_RFLAGS, 0x2);
    cs(0x08, 0, 0xFFFFFFFF, 0xA09B);
    data_segs(0x10, 0, 0xFFFFFFFF, 0xC093);
    set(F::GUEST_LDTR_SELECTOR, 0), set(F::GUEST_LDTR_AR_BYTES, 0x10000);
    set(F::GUEST_TR_SELECTOR, 0x18), set(F::GUEST_TR_BASE, 0x3000);
    set(F::GUEST_TR_LIMIT, 0x67), set(F::GUEST_TR_AR_BYTES, 0x8B);
    set(F::GUEST_GDTR_BASE, 0x4000), set(F::GUEST_GDTR_LIMIT, 0x27);
    set(F::GUEST_IDTR_BASE, 0x5000), set(F::GUEST_IDTR_LIMIT, 0xFFF);
    set(F::GUEST_IA32_PAT, kPat),
        set(F::GUEST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    set(F::GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE), set(F::GUEST_INTERRUPTIBILITY_INFO, 0);
    set(F::GUEST_PENDING_DBG_EXCEPTIONS, 0);
    set(F::VMCS_LINK_POINTER, SHADOW_VMCS);
  }

  // "Unrestricted guest": real mode (CR0.PE = PG = 0) at the reset vector.
  void real_mode() {
    orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
    clr(F::VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(F::GUEST_CR0, CR0_ET | CR0_NE);
    set(F::GUEST_CR4, CR4_VMXE);
    set(F::GUEST_IA32_EFER, 0);
    set(F::GUEST_RIP, 0xFFF0);
    cs(0xF000, 0xF0000, 0xFFFF, 0x9B);
    data_segs(0, 0, 0xFFFF, 0x93);
    set(F::GUEST_TR_SELECTOR, 0), set(F::GUEST_TR_BASE, 0);
    set(F::GUEST_TR_LIMIT, 0xFFFF), set(F::GUEST_TR_AR_BYTES, 0x8B);
  }

  // 32-bit protected mode with PAE paging; with EPT the PDPTE fields are checked,
  // without it the PDPTEs at guest CR3.
  void pae32(bool ept) {
    clr(F::VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(F::GUEST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
    set(F::GUEST_CR4, CR4_PAE | CR4_VMXE);
    set(F::GUEST_IA32_EFER, EFER_NXE);
    set(F::GUEST_CR3, GUEST_PDPT);
    set(F::GUEST_RIP, 0x100000);
    cs(0x08, 0, 0xFFFFFFFF, 0xC09B);
    for (int i = 0; i < 4; i++) {
      const uint64_t e = i == 3 ? 0 : 0x30000 + 0x1000 * i + 1;  // PDPTE3 not present
      mem.put64(GUEST_PDPT + 8 * i, e);
      set(F(unsigned(F::GUEST_PDPTR0) + i), e);
    }
    if (!ept) {
      clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_EPT | CPU2_PML | CPU2_VMFUNC);
    }
  }

  // Virtual-8086 mode under 32-bit paging (CR4.PAE = 0).
  void v86() {
    clr(F::VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(F::GUEST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
    set(F::GUEST_CR4, CR4_VMXE);
    set(F::GUEST_IA32_EFER, 0);
    set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_IF | FLAG_VM);
    set(F::GUEST_RIP, 0x100);
    cs(0x1000, 0x10000, 0xFFFF, 0xF3);
    data_segs(0x2000, 0x20000, 0xFFFF, 0xF3);
    set(F::GUEST_TR_AR_BYTES, 0x8B), set(F::GUEST_TR_LIMIT, 0x2067);
  }

  // The entry's checks in order: controls, host state, guest state.
  EntryCheckResult run() {
    EntryCheckResult r = check_controls(v, caps, ctx);
    if (r.ok()) r = check_host_state(v, caps, ctx);
    if (r.ok()) r = check_guest_state(v, caps, ctx, pdpte);
    return r;
  }
};

inline std::string describe(const EntryCheckResult& r) {
  if (r.ok()) return "passes";
  return std::string("fails ") + (r.section ? r.section : "?") + " " + (r.check ? r.check : "?") +
         (r.subject ? std::string(" on ") + r.subject : "") + " qual " +
         std::to_string(r.qualification);
}

// One check: what to change, and the outcome.
struct Row {
  const char* name;
  std::function<void(Rig&)> mutate;
  EntryFailure kind;
  const char* section;
  const char* check;  // a piece of the failed check's text that identifies it
  const char* subject = nullptr;
  uint32_t qual = 0;
};

inline void run_rows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    Rig r;
    row.mutate(r);
    const EntryCheckResult res = r.run();
    INFO(row.name << ": " << describe(res));
    CHECK(res.failure == row.kind);
    CHECK(res.qualification == row.qual);
    REQUIRE(res.section != nullptr);
    CHECK(std::string(res.section) == row.section);
    REQUIRE(res.check != nullptr);
    CHECK(std::string(res.check).find(row.check) != std::string::npos);
    if (row.subject) {
      REQUIRE(res.subject != nullptr);
      CHECK(std::string(res.subject) == row.subject);
    }
  }
}

// Rows that must pass (relaxations and boundaries the checks allow).
struct Pass {
  const char* name;
  std::function<void(Rig&)> mutate;
};
inline void run_passes(const std::vector<Pass>& rows) {
  for (const Pass& row : rows) {
    Rig r;
    row.mutate(r);
    const EntryCheckResult res = r.run();
    INFO(row.name << ": " << describe(res));
    CHECK(res.ok());
  }
}

constexpr auto CTL = EntryFailure::kControls;
constexpr auto HOST = EntryFailure::kHostState;
constexpr auto GUEST = EntryFailure::kGuestState;

}  // namespace entrytest
