// VM-entry checks (SDM Vol. 3C 26.2, 26.3.1): valid baselines (a 64-bit host with a
// 64-bit guest, an unrestricted real-mode guest, a 32-bit PAE guest with and without
// EPT, a virtual-8086 guest) pass all three check functions; then one row per check
// mutates the fields that violate it and expects the exact outcome (failure kind,
// qualification, SDM section, the check's text and the register it applied to); then
// random mutations of the baselines never crash and always give a well-formed result.
#include "vmx/entry_checks.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "isa/cpu_state.h"
#include "vmx/controls.h"

namespace {

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

std::string describe(const EntryCheckResult& r) {
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

void run_rows(const std::vector<Row>& rows) {
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
void run_passes(const std::vector<Pass>& rows) {
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

}  // namespace

TEST_CASE("Entry checks: the baselines pass", "[entry]") {
  SECTION("64-bit host and guest") {
    Rig r;
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == ~0ull);  // no PAE paging: PDPTEs untouched
  }
  SECTION("unrestricted real-mode guest") {
    Rig r;
    r.real_mode();
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
  SECTION("32-bit PAE guest with EPT (PDPTE fields)") {
    Rig r;
    r.pae32(true);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == ~0ull);  // with EPT the fields are loaded, not memory
  }
  SECTION("32-bit PAE guest without EPT (PDPTEs from guest CR3)") {
    Rig r;
    r.pae32(false);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == 0x30001);
    CHECK(r.pdpte[1] == 0x31001);
    CHECK(r.pdpte[2] == 0x32001);
    CHECK(r.pdpte[3] == 0);
  }
  SECTION("virtual-8086 guest") {
    Rig r;
    r.v86();
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
  SECTION("a minimal VMCS: no optional controls, no link pointer") {
    Rig r;
    r.set(F::PIN_BASED_VM_EXEC_CONTROL, PIN_DEFAULT1);
    r.set(F::CPU_BASED_VM_EXEC_CONTROL,
          CPU_DEFAULT1 & ~(CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING));
    r.set(F::VM_EXIT_CONTROLS,
          (EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CONTROLS) | EXIT_HOST_ADDR_SPACE_SIZE);
    r.set(F::VM_ENTRY_CONTROLS,
          (ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CONTROLS) | ENTRY_IA32E_MODE_GUEST);
    r.set(F::VMCS_LINK_POINTER, ~0ull);
    r.set(F::VM_EXIT_MSR_STORE_COUNT, 0), r.set(F::VM_EXIT_MSR_STORE_ADDR, 3);
    r.set(F::VM_EXIT_MSR_LOAD_COUNT, 0), r.set(F::VM_EXIT_MSR_LOAD_ADDR, kFar);
    r.set(F::VM_ENTRY_MSR_LOAD_COUNT, 0), r.set(F::VM_ENTRY_MSR_LOAD_ADDR, ~0ull);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
}

TEST_CASE("Entry checks: VM-execution control fields (26.2.1.1)", "[entry]") {
  const char* S = "26.2.1.1";
  run_rows({
      {"pin-based: a default-1 bit cleared",
       [](Rig& r) { r.clr(F::PIN_BASED_VM_EXEC_CONTROL, 1u << 1); }, CTL, S, "allowed(pin"},
      {"pin-based: reserved bit 8 set",
       [](Rig& r) { r.orr(F::PIN_BASED_VM_EXEC_CONTROL, 1u << 8); }, CTL, S, "allowed(pin"},
      {"primary: a default-1 bit the TRUE MSR keeps cleared",
       [](Rig& r) { r.clr(F::CPU_BASED_VM_EXEC_CONTROL, 1u << 26); }, CTL, S, "allowed(proc"},
      {"primary: reserved bit 0 set", [](Rig& r) { r.orr(F::CPU_BASED_VM_EXEC_CONTROL, 1u); }, CTL,
       S, "allowed(proc"},
      {"primary: a control the model lacks (RDTSC exiting removed from caps)",
       [](Rig& r) {
         r.caps.proc &= ~CPU_RDTSC_EXITING;
         r.orr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_RDTSC_EXITING);
       },
       CTL, S, "allowed(proc"},
      {"secondary: ENCLS exiting (not offered)",
       [](Rig& r) { r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_ENCLS_EXITING); }, CTL, S, "~c.proc2"},
      {"CR3-target count 5 > 4", [](Rig& r) { r.set(F::CR3_TARGET_COUNT, 5); }, CTL, S,
       "CR3_TARGET_COUNT"},
      {"I/O bitmap A unaligned", [](Rig& r) { r.set(F::IO_BITMAP_A, IO_A + 8); }, CTL, S,
       "IO_BITMAP_A"},
      {"I/O bitmap A beyond MAXPHYADDR", [](Rig& r) { r.set(F::IO_BITMAP_A, kFar); }, CTL, S,
       "IO_BITMAP_A"},
      {"I/O bitmap B unaligned", [](Rig& r) { r.set(F::IO_BITMAP_B, IO_B + 0x800); }, CTL, S,
       "IO_BITMAP_B"},
      {"MSR bitmap beyond MAXPHYADDR", [](Rig& r) { r.set(F::MSR_BITMAP, kFar | MSR_BM); }, CTL, S,
       "MSR_BITMAP"},
      {"MSR bitmap unaligned", [](Rig& r) { r.set(F::MSR_BITMAP, MSR_BM + 1); }, CTL, S,
       "MSR_BITMAP"},
      {"virtual-APIC page unaligned",
       [](Rig& r) { r.set(F::VIRTUAL_APIC_PAGE_ADDR, VAPIC + 0x80); }, CTL, S,
       "page_addr_ok(c, vapic)"},
      {"virtual-APIC page beyond MAXPHYADDR",
       [](Rig& r) { r.set(F::VIRTUAL_APIC_PAGE_ADDR, kFar); }, CTL, S, "page_addr_ok(c, vapic)"},
      {"TPR threshold bits 31:4 without virtual-interrupt delivery",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_INTR_DELIVERY);
         r.set(F::TPR_THRESHOLD, 0x10);
       },
       CTL, S, "(threshold >> 4) == 0"},
      {"TPR threshold above VTPR[7:4] without APIC-access virtualization",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_INTR_DELIVERY | CPU2_VIRT_APIC_ACCESSES);
         r.set(F::TPR_THRESHOLD, 3);  // VTPR 0x20: bits 7:4 = 2
       },
       CTL, S, "vtpr_rule"},
      {"no TPR shadow with APIC-register virtualization",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_INTR_DELIVERY);
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_TPR_SHADOW);
       },
       CTL, S, "tpr_shadow || !(proc2"},
      {"no TPR shadow with virtualize x2APIC mode",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.clr(F::SECONDARY_VM_EXEC_CONTROL,
               CPU2_VIRT_INTR_DELIVERY | CPU2_APIC_REG_VIRT | CPU2_VIRT_APIC_ACCESSES);
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_X2APIC_MODE);
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_TPR_SHADOW);
       },
       CTL, S, "tpr_shadow || !(proc2"},
      {"no TPR shadow with virtual-interrupt delivery",
       [](Rig& r) {
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_APIC_REG_VIRT);
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_TPR_SHADOW);
       },
       CTL, S, "tpr_shadow || !(proc2"},
      {"virtual NMIs without NMI exiting",
       [](Rig& r) { r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING); }, CTL, S,
       "!(pin & PIN_VIRTUAL_NMIS)"},
      {"NMI-window exiting without virtual NMIs",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS);
         r.orr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING);
       },
       CTL, S, "CPU_NMI_WINDOW_EXITING"},
      {"APIC-access page unaligned", [](Rig& r) { r.set(F::APIC_ACCESS_ADDR, APIC_ACCESS | 0x10); },
       CTL, S, "APIC_ACCESS_ADDR"},
      {"virtualize x2APIC mode with APIC-access virtualization",
       [](Rig& r) { r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_X2APIC_MODE); }, CTL, S,
       "!(proc2 & CPU2_VIRT_X2APIC_MODE) || !(proc2 & CPU2_VIRT_APIC_ACCESSES)"},
      {"virtual-interrupt delivery without external-interrupt exiting",
       [](Rig& r) { r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_EXTINT_EXITING); }, CTL, S,
       "PIN_EXTINT_EXITING"},
      {"posted interrupts without virtual-interrupt delivery",
       [](Rig& r) { r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_INTR_DELIVERY); }, CTL, S,
       "!posted || (proc2 & CPU2_VIRT_INTR_DELIVERY)"},
      {"posted interrupts without acknowledge interrupt on exit",
       [](Rig& r) { r.clr(F::VM_EXIT_CONTROLS, EXIT_ACK_INTR_ON_EXIT); }, CTL, S,
       "EXIT_ACK_INTR_ON_EXIT"},
      {"posted-interrupt notification vector 0x100",
       [](Rig& r) { r.set(F::POSTED_INTR_NV, 0x100); }, CTL, S, "POSTED_INTR_NV"},
      {"posted-interrupt descriptor not 64-byte aligned",
       [](Rig& r) { r.set(F::POSTED_INTR_DESC_ADDR, PI_DESC + 0x20); }, CTL, S,
       "(pi_desc & 0x3F) == 0"},
      {"posted-interrupt descriptor beyond MAXPHYADDR",
       [](Rig& r) { r.set(F::POSTED_INTR_DESC_ADDR, kFar); }, CTL, S, "addr_ok(c, pi_desc)"},
      {"VPID 0", [](Rig& r) { r.set(F::VIRTUAL_PROCESSOR_ID, 0); }, CTL, S, "VIRTUAL_PROCESSOR_ID"},
      {"EPTP memory type WC (1)", [](Rig& r) { r.set(F::EPT_POINTER, (kEptp & ~7ull) | 1); }, CTL,
       S, "ept_memtype_ok"},
      {"EPTP memory type UC without the UC capability",
       [](Rig& r) {
         r.caps.ept_vpid &= ~EPT_CAP_MT_UC;
         r.set(F::EPT_POINTER, kEptp & ~7ull);
       },
       CTL, S, "ept_memtype_ok"},
      {"EPTP walk length 3", [](Rig& r) { r.set(F::EPT_POINTER, (kEptp & ~0x38ull) | (2 << 3)); },
       CTL, S, "ept_walk_ok"},
      {"EPTP walk length 5 without the 5-level capability",
       [](Rig& r) {
         r.caps.ept_vpid &= ~EPT_CAP_WALK_5;
         r.set(F::EPT_POINTER, (kEptp & ~0x38ull) | (4 << 3));
       },
       CTL, S, "ept_walk_ok"},
      {"EPTP A/D enable without the A/D capability", [](Rig& r) { r.caps.ept_vpid &= ~EPT_CAP_AD; },
       CTL, S, "EPT_CAP_AD"},
      {"EPTP reserved bit 7 (supervisor shadow stacks)",
       [](Rig& r) { r.set(F::EPT_POINTER, kEptp | 0x80); }, CTL, S, "(eptp & 0xF80) == 0"},
      {"EPTP reserved bit 11", [](Rig& r) { r.set(F::EPT_POINTER, kEptp | 0x800); }, CTL, S,
       "(eptp & 0xF80) == 0"},
      {"EPTP beyond MAXPHYADDR", [](Rig& r) { r.set(F::EPT_POINTER, kEptp | kFar); }, CTL, S,
       "addr_ok(c, eptp)"},
      {"PML without EPT", [](Rig& r) { r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_EPT); }, CTL, S,
       "!(proc2 & CPU2_PML) || ept"},
      {"PML address unaligned", [](Rig& r) { r.set(F::PML_ADDRESS, PML_PAGE | 0x100); }, CTL, S,
       "PML_ADDRESS"},
      {"unrestricted guest without EPT",
       [](Rig& r) {
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_EPT | CPU2_PML | CPU2_VMFUNC);
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
       },
       CTL, S, "CPU2_UNRESTRICTED_GUEST"},
      {"VM-function control reserved bit 1", [](Rig& r) { r.orr(F::VM_FUNCTION_CONTROL, 2); }, CTL,
       S, "(funcs & ~c.vmfunc) == 0"},
      {"EPTP switching without EPT",
       [](Rig& r) { r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_EPT | CPU2_PML); }, CTL, S,
       "!eptp_switching || ept"},
      {"EPTP list unaligned", [](Rig& r) { r.set(F::EPTP_LIST_ADDRESS, EPTP_LIST + 8); }, CTL, S,
       "EPTP_LIST_ADDRESS"},
      {"EPTP list beyond MAXPHYADDR", [](Rig& r) { r.set(F::EPTP_LIST_ADDRESS, kFar); }, CTL, S,
       "EPTP_LIST_ADDRESS"},
      {"VMREAD bitmap unaligned", [](Rig& r) { r.set(F::VMREAD_BITMAP, VMREAD_BM + 4); }, CTL, S,
       "VMREAD_BITMAP"},
      {"VMWRITE bitmap beyond MAXPHYADDR", [](Rig& r) { r.set(F::VMWRITE_BITMAP, ~0xFFFull); }, CTL,
       S, "VMWRITE_BITMAP"},
  });
  run_passes({
      {"TRUE MSR: CR3-load/store exiting may be 0",
       [](Rig& r) {
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING);
       }},
      {"secondary controls off: their reserved bits are not checked",
       [](Rig& r) {
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_SECONDARY_CONTROLS);
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_ENCLS_EXITING);
         r.set(F::VMCS_LINK_POINTER, ~0ull);
       }},
      {"bitmaps unchecked when their controls are 0",
       [](Rig& r) {
         r.clr(F::CPU_BASED_VM_EXEC_CONTROL, CPU_USE_IO_BITMAPS | CPU_USE_MSR_BITMAPS);
         r.set(F::IO_BITMAP_A, 1), r.set(F::MSR_BITMAP, kFar);
       }},
      {"TPR threshold equal to VTPR[7:4]",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_POSTED_INTR);
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VIRT_INTR_DELIVERY | CPU2_VIRT_APIC_ACCESSES);
         r.set(F::TPR_THRESHOLD, 2);
       }},
      {"TPR threshold any value with virtual-interrupt delivery",
       [](Rig& r) { r.set(F::TPR_THRESHOLD, 0xFFFFFFFF); }},
      {"EPTP: UC memory type, 5-level walk, no A/D",
       [](Rig& r) { r.set(F::EPT_POINTER, EPT_ROOT | 0 | (4 << 3)); }},
      {"unrestricted guest with EPT",
       [](Rig& r) { r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST); }},
      {"VM functions without EPTP switching need no EPT",
       [](Rig& r) {
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_EPT | CPU2_PML);
         r.set(F::VM_FUNCTION_CONTROL, 0);
       }},
  });
}

TEST_CASE("Entry checks: VM-exit control fields (26.2.1.2)", "[entry]") {
  const char* S = "26.2.1.2";
  run_rows({
      {"a default-1 bit cleared", [](Rig& r) { r.clr(F::VM_EXIT_CONTROLS, 1u); }, CTL, S,
       "allowed(exit"},
      {"load IA32_PERF_GLOBAL_CTRL (not offered)",
       [](Rig& r) { r.orr(F::VM_EXIT_CONTROLS, EXIT_LOAD_PERF_GLOBAL_CTRL); }, CTL, S,
       "allowed(exit"},
      {"reserved bit 31", [](Rig& r) { r.orr(F::VM_EXIT_CONTROLS, 1u << 31); }, CTL, S,
       "allowed(exit"},
      {"save preemption timer without activating it",
       [](Rig& r) { r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER); }, CTL, S,
       "EXIT_SAVE_PREEMPTION_TIMER"},
      {"MSR-store area not 16-byte aligned",
       [](Rig& r) { r.set(F::VM_EXIT_MSR_STORE_ADDR, MSR_STORE + 8); }, CTL, S,
       "msr_area_aligned(store_n"},
      {"MSR-store area ends beyond MAXPHYADDR",
       [](Rig& r) { r.set(F::VM_EXIT_MSR_STORE_ADDR, kFar - 16); }, CTL, S,
       "msr_area_in_width(c, store_n"},
      {"MSR-store area starts beyond MAXPHYADDR",
       [](Rig& r) { r.set(F::VM_EXIT_MSR_STORE_ADDR, ~0xFull); }, CTL, S,
       "msr_area_in_width(c, store_n"},
      {"MSR-load area not 16-byte aligned",
       [](Rig& r) { r.set(F::VM_EXIT_MSR_LOAD_ADDR, MSR_EXIT_LOAD + 4); }, CTL, S,
       "msr_area_aligned(load_n"},
      {"MSR-load area of 0xFFFFFFFF entries ends beyond MAXPHYADDR",
       [](Rig& r) {
         r.set(F::VM_EXIT_MSR_LOAD_COUNT, 0xFFFFFFFF),
             r.set(F::VM_EXIT_MSR_LOAD_ADDR, kFar - 0x1000);
       },
       CTL, S, "msr_area_in_width(c, load_n"},
  });
  run_passes({
      {"TRUE MSR: save debug controls may be 0",
       [](Rig& r) { r.clr(F::VM_EXIT_CONTROLS, EXIT_SAVE_DEBUG_CONTROLS); }},
      {"MSR-store area whose last byte is the last addressable byte",
       [](Rig& r) { r.set(F::VM_EXIT_MSR_STORE_ADDR, kFar - 32); }},
  });
}

TEST_CASE("Entry checks: VM-entry control fields (26.2.1.3)", "[entry]") {
  const char* S = "26.2.1.3";
  run_rows({
      {"a default-1 bit cleared", [](Rig& r) { r.clr(F::VM_ENTRY_CONTROLS, 1u << 4); }, CTL, S,
       "allowed(entry"},
      {"entry to SMM (not offered)", [](Rig& r) { r.orr(F::VM_ENTRY_CONTROLS, ENTRY_SMM); }, CTL, S,
       "allowed(entry"},
      {"injection: reserved type 1", [](Rig& r) { r.inject(1, 0x20); }, CTL, S, "type != 1"},
      {"injection: type 7 without the MTF capability",
       [](Rig& r) {
         r.caps.proc &= ~CPU_MONITOR_TRAP_FLAG;
         r.inject(INTR_TYPE_OTHER_EVENT, 0);
       },
       CTL, S, "CPU_MONITOR_TRAP_FLAG"},
      {"injection: NMI with vector 3", [](Rig& r) { r.inject(INTR_TYPE_NMI, 3); }, CTL, S,
       "vector == 2"},
      {"injection: hardware exception vector 32",
       [](Rig& r) { r.inject(INTR_TYPE_HW_EXCEPTION, 32); }, CTL, S, "vector <= 31"},
      {"injection: pending MTF with vector 1", [](Rig& r) { r.inject(INTR_TYPE_OTHER_EVENT, 1); },
       CTL, S, "vector == 0"},
      {"injection: #GP without an error code", [](Rig& r) { r.inject(INTR_TYPE_HW_EXCEPTION, 13); },
       CTL, S, "needs_error_code"},
      {"injection: #UD with an error code",
       [](Rig& r) { r.inject(INTR_TYPE_HW_EXCEPTION, 6, true); }, CTL, S, "needs_error_code"},
      {"injection: software interrupt with an error code",
       [](Rig& r) {
         r.inject(INTR_TYPE_SW_INTR, 13, true);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 2);
       },
       CTL, S, "needs_error_code"},
      {"injection: #PF with an error code into real mode (unrestricted guest)",
       [](Rig& r) {
         r.real_mode();
         r.inject(INTR_TYPE_HW_EXCEPTION, 14, true);
       },
       CTL, S, "needs_error_code"},
      {"injection: reserved bit 12",
       [](Rig& r) {
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
         r.orr(F::VM_ENTRY_INTR_INFO_FIELD, 1u << 12);
       },
       CTL, S, "(info & 0x7FFFF000) == 0"},
      {"injection: reserved bit 30",
       [](Rig& r) {
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
         r.orr(F::VM_ENTRY_INTR_INFO_FIELD, 1u << 30);
       },
       CTL, S, "(info & 0x7FFFF000) == 0"},
      {"injection: error code bit 16",
       [](Rig& r) {
         r.inject(INTR_TYPE_HW_EXCEPTION, 13, true);
         r.set(F::VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000);
       },
       CTL, S, "VM_ENTRY_EXCEPTION_ERROR_CODE"},
      {"injection: software exception with instruction length 16",
       [](Rig& r) {
         r.inject(INTR_TYPE_SW_EXCEPTION, 3);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 16);
       },
       CTL, S, "length <= 15"},
      {"injection: privileged software exception with length 0 without MISC[30]",
       [](Rig& r) {
         r.caps.misc &= ~MISC_INJECT_ZERO_LEN;
         r.inject(INTR_TYPE_PRIV_SW_EXCEPTION, 1);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 0);
       },
       CTL, S, "MISC_INJECT_ZERO_LEN"},
      {"MSR-load area not 16-byte aligned",
       [](Rig& r) { r.set(F::VM_ENTRY_MSR_LOAD_ADDR, MSR_ENTRY_LOAD + 1); }, CTL, S,
       "msr_area_aligned(load_n"},
      {"MSR-load area ends beyond MAXPHYADDR",
       [](Rig& r) {
         r.set(F::VM_ENTRY_MSR_LOAD_COUNT, 2);
         r.set(F::VM_ENTRY_MSR_LOAD_ADDR, kFar - 16);
       },
       CTL, S, "msr_area_in_width(c, load_n"},
      {"entry to SMM and deactivate dual-monitor treatment together",
       [](Rig& r) {
         r.caps.entry |= ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR;
         r.orr(F::VM_ENTRY_CONTROLS, ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR);
       },
       CTL, S, "(entry & ENTRY_SMM) && (entry & ENTRY_DEACT_DUAL_MONITOR)"},
      {"entry to SMM outside SMM",
       [](Rig& r) {
         r.caps.entry |= ENTRY_SMM;
         r.orr(F::VM_ENTRY_CONTROLS, ENTRY_SMM);
       },
       CTL, S, "!(entry & ENTRY_SMM)"},
      {"deactivate dual-monitor treatment outside SMM",
       [](Rig& r) {
         r.caps.entry |= ENTRY_DEACT_DUAL_MONITOR;
         r.orr(F::VM_ENTRY_CONTROLS, ENTRY_DEACT_DUAL_MONITOR);
       },
       CTL, S, "!(entry & ENTRY_DEACT_DUAL_MONITOR)"},
  });
  run_passes({
      {"TRUE MSR: load debug controls may be 0",
       [](Rig& r) { r.clr(F::VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS); }},
      {"injection fields ignored when not valid",
       [](Rig& r) {
         r.set(F::VM_ENTRY_INTR_INFO_FIELD, 0x7FFFFFFF);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 99);
       }},
      {"#PF with an error code",
       [](Rig& r) {
         r.inject(INTR_TYPE_HW_EXCEPTION, 14, true);
         r.set(F::VM_ENTRY_EXCEPTION_ERROR_CODE, 0xFFFF);
       }},
      {"#AC and #DF with an error code",
       [](Rig& r) { r.inject(INTR_TYPE_HW_EXCEPTION, 17, true); }},
      {"#GP without an error code into real mode (unrestricted guest)",
       [](Rig& r) {
         r.real_mode();
         r.inject(INTR_TYPE_HW_EXCEPTION, 13);
       }},
      {"pending MTF (type 7, vector 0)", [](Rig& r) { r.inject(INTR_TYPE_OTHER_EVENT, 0); }},
      {"NMI (vector 2)", [](Rig& r) { r.inject(INTR_TYPE_NMI, 2); }},
      {"software interrupt with length 0 (MISC[30] = 1)",
       [](Rig& r) {
         r.inject(INTR_TYPE_SW_INTR, 0x80);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 0);
       }},
      {"software interrupt with length 15",
       [](Rig& r) {
         r.inject(INTR_TYPE_SW_INTR, 0x80);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 15);
       }},
      {"external interrupt: instruction length not checked",
       [](Rig& r) {
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_IF);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 0xFFFFFFFF);
       }},
  });
}

TEST_CASE("Entry checks: host control registers and MSRs (26.2.2)", "[entry]") {
  const char* S = "26.2.2";
  run_rows({
      {"CR0.NE clear (FIXED0)", [](Rig& r) { r.clr(F::HOST_CR0, CR0_NE); }, HOST, S,
       "c.cr0_fixed0"},
      {"CR0.PG clear (FIXED0)", [](Rig& r) { r.clr(F::HOST_CR0, CR0_PG); }, HOST, S,
       "c.cr0_fixed0"},
      {"CR0 bit 32 (FIXED1)", [](Rig& r) { r.orr(F::HOST_CR0, 1ull << 32); }, HOST, S,
       "c.cr0_fixed1"},
      {"CR4.VMXE clear (FIXED0)", [](Rig& r) { r.clr(F::HOST_CR4, CR4_VMXE); }, HOST, S,
       "c.cr4_fixed0"},
      {"CR4 bit 23 (CET, not supported)", [](Rig& r) { r.orr(F::HOST_CR4, 1u << 23); }, HOST, S,
       "c.cr4_fixed1"},
      {"CR3 beyond MAXPHYADDR", [](Rig& r) { r.orr(F::HOST_CR3, kFar); }, HOST, S, "HOST_CR3"},
      {"CR3 bit 63", [](Rig& r) { r.orr(F::HOST_CR3, 1ull << 63); }, HOST, S, "HOST_CR3"},
      {"SYSENTER_ESP not canonical",
       [](Rig& r) { r.set(F::HOST_IA32_SYSENTER_ESP, kNonCanonical57); }, HOST, S,
       "HOST_IA32_SYSENTER_ESP"},
      {"SYSENTER_EIP not canonical",
       [](Rig& r) { r.set(F::HOST_IA32_SYSENTER_EIP, 0x8000000000000000); }, HOST, S,
       "HOST_IA32_SYSENTER_EIP"},
      {"PAT entry 3 = 2 (reserved type)",
       [](Rig& r) { r.set(F::HOST_IA32_PAT, kPat | (2ull << 24)); }, HOST, S, "pat_ok"},
      {"PAT entry 7 = 8",
       [](Rig& r) { r.set(F::HOST_IA32_PAT, (kPat & ~(0xFFull << 56)) | (8ull << 56)); }, HOST, S,
       "pat_ok"},
      {"EFER reserved bit 1", [](Rig& r) { r.orr(F::HOST_IA32_EFER, 2); }, HOST, S, "kEferDefined"},
      {"EFER reserved bit 12 (SVME)", [](Rig& r) { r.orr(F::HOST_IA32_EFER, 1u << 12); }, HOST, S,
       "kEferDefined"},
      {"EFER.LMA clear with a 64-bit host", [](Rig& r) { r.clr(F::HOST_IA32_EFER, EFER_LMA); },
       HOST, S, "EFER_LMA) == host64"},
      {"EFER.LME clear with a 64-bit host", [](Rig& r) { r.clr(F::HOST_IA32_EFER, EFER_LME); },
       HOST, S, "EFER_LME) == host64"},
  });
  run_passes({
      {"SYSENTER_ESP canonical with 57 bits only",
       [](Rig& r) { r.set(F::HOST_IA32_SYSENTER_ESP, kNonCanonical48); }},
      {"PAT and EFER unchecked when not loaded",
       [](Rig& r) {
         r.clr(F::VM_EXIT_CONTROLS, EXIT_LOAD_IA32_PAT | EXIT_LOAD_IA32_EFER);
         r.set(F::HOST_IA32_PAT, ~0ull), r.set(F::HOST_IA32_EFER, ~0ull);
       }},
  });
}

TEST_CASE("Entry checks: host segment and descriptor-table registers (26.2.3)", "[entry]") {
  const char* S = "26.2.3";
  run_rows({
      {"ES RPL 3", [](Rig& r) { r.set(F::HOST_ES_SELECTOR, 0x13); }, HOST, S,
       "HOST_ES_SELECTOR) & 7"},
      {"CS TI", [](Rig& r) { r.set(F::HOST_CS_SELECTOR, 0x0C); }, HOST, S, "HOST_CS_SELECTOR) & 7"},
      {"SS RPL 1", [](Rig& r) { r.set(F::HOST_SS_SELECTOR, 0x11); }, HOST, S,
       "HOST_SS_SELECTOR) & 7"},
      {"DS TI", [](Rig& r) { r.set(F::HOST_DS_SELECTOR, 0x14); }, HOST, S, "HOST_DS_SELECTOR) & 7"},
      {"FS RPL 2", [](Rig& r) { r.set(F::HOST_FS_SELECTOR, 0x2); }, HOST, S,
       "HOST_FS_SELECTOR) & 7"},
      {"GS RPL 3", [](Rig& r) { r.set(F::HOST_GS_SELECTOR, 0x3); }, HOST, S,
       "HOST_GS_SELECTOR) & 7"},
      {"TR TI", [](Rig& r) { r.set(F::HOST_TR_SELECTOR, 0x1C); }, HOST, S, "HOST_TR_SELECTOR) & 7"},
      {"CS null", [](Rig& r) { r.set(F::HOST_CS_SELECTOR, 0); }, HOST, S, "HOST_CS_SELECTOR) != 0"},
      {"TR null", [](Rig& r) { r.set(F::HOST_TR_SELECTOR, 0); }, HOST, S, "HOST_TR_SELECTOR) != 0"},
      {"SS null with a 32-bit host",
       [](Rig& r) {
         r.clr(F::VM_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_IA32_EFER);
         r.set(F::HOST_SS_SELECTOR, 0);
       },
       HOST, S, "HOST_SS_SELECTOR) != 0"},
      {"FS base not canonical", [](Rig& r) { r.set(F::HOST_FS_BASE, kNonCanonical57); }, HOST, S,
       "HOST_FS_BASE"},
      {"GS base not canonical", [](Rig& r) { r.set(F::HOST_GS_BASE, 0x7F00000000000000); }, HOST, S,
       "HOST_GS_BASE"},
      {"GDTR base not canonical", [](Rig& r) { r.set(F::HOST_GDTR_BASE, kNonCanonical57); }, HOST,
       S, "HOST_GDTR_BASE"},
      {"IDTR base not canonical", [](Rig& r) { r.set(F::HOST_IDTR_BASE, kNonCanonical57); }, HOST,
       S, "HOST_IDTR_BASE"},
      {"TR base not canonical", [](Rig& r) { r.set(F::HOST_TR_BASE, kNonCanonical57); }, HOST, S,
       "HOST_TR_BASE"},
      {"bases checked with 48 bits without 5-level paging support",
       [](Rig& r) {
         r.caps.cr4_fixed1 &= ~CR4_LA57;
         r.set(F::HOST_FS_BASE, kNonCanonical48);
       },
       HOST, S, "HOST_FS_BASE"},
  });
  run_passes({
      {"SS null with a 64-bit host", [](Rig& r) { r.set(F::HOST_SS_SELECTOR, 0); }},
      {"GS base canonical with 57 bits",
       [](Rig& r) { r.set(F::HOST_GS_BASE, 0xFF00000000000000); }},
  });
}

TEST_CASE("Entry checks: address-space size (26.2.4)", "[entry]") {
  const char* S = "26.2.4";
  // A 32-bit host: outside IA-32e mode, "host address-space size" 0, a 32-bit guest.
  auto host32 = [](Rig& r) {
    r.ctx.host_ia32e = false;
    r.clr(F::VM_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_IA32_EFER);
    r.pae32(true);
    r.set(F::HOST_RIP, 0xC0100000);
  };
  run_rows({
      {"IA-32e mode guest from outside IA-32e mode", [](Rig& r) { r.ctx.host_ia32e = false; }, HOST,
       S, "ctx.host_ia32e || !guest64"},
      {"64-bit host from outside IA-32e mode",
       [](Rig& r) {
         r.ctx.host_ia32e = false;
         r.clr(F::VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
       },
       HOST, S, "ctx.host_ia32e || !host64"},
      {"32-bit host from IA-32e mode",
       [](Rig& r) { r.clr(F::VM_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_IA32_EFER); },
       HOST, S, "!ctx.host_ia32e || host64"},
      {"32-bit host with CR4.PCIDE",
       [=](Rig& r) {
         host32(r);
         r.orr(F::HOST_CR4, CR4_PCIDE);
       },
       HOST, S, "CR4_PCIDE"},
      {"32-bit host with RIP bit 32",
       [=](Rig& r) {
         host32(r);
         r.set(F::HOST_RIP, 0x1C0100000);
       },
       HOST, S, "(rip >> 32) == 0"},
      {"64-bit host without CR4.PAE", [](Rig& r) { r.clr(F::HOST_CR4, CR4_PAE); }, HOST, S,
       "CR4_PAE"},
      {"64-bit host RIP beyond 48 bits without CR4.LA57",
       [](Rig& r) { r.set(F::HOST_RIP, kNonCanonical48); }, HOST, S, "canonical(rip"},
      {"64-bit host RIP beyond 57 bits with CR4.LA57",
       [](Rig& r) {
         r.orr(F::HOST_CR4, CR4_LA57);
         r.set(F::HOST_RIP, kNonCanonical57);
       },
       HOST, S, "canonical(rip"},
  });
  run_passes({
      {"a 32-bit host", host32},
      {"64-bit host RIP canonical with 57 bits under CR4.LA57",
       [](Rig& r) {
         r.orr(F::HOST_CR4, CR4_LA57);
         r.set(F::HOST_RIP, kNonCanonical48);
       }},
  });
}

TEST_CASE("Entry checks: guest control registers, debug registers and MSRs (26.3.1.1)", "[entry]") {
  const char* S = "26.3.1.1";
  run_rows({
      {"CR0.NE clear", [](Rig& r) { r.clr(F::GUEST_CR0, CR0_NE); }, GUEST, S, "cr0_must1"},
      {"CR0.PE clear without unrestricted guest",
       [](Rig& r) { r.clr(F::GUEST_CR0, CR0_PE | CR0_PG); }, GUEST, S, "cr0_must1"},
      {"CR0.NE clear with unrestricted guest",
       [](Rig& r) {
         r.real_mode();
         r.clr(F::GUEST_CR0, CR0_NE);
       },
       GUEST, S, "cr0_must1"},
      {"CR0 bit 63", [](Rig& r) { r.orr(F::GUEST_CR0, 1ull << 63); }, GUEST, S, "c.cr0_fixed1"},
      {"CR0.PG without CR0.PE (unrestricted guest)",
       [](Rig& r) {
         r.real_mode();
         r.orr(F::GUEST_CR0, CR0_PG);
       },
       GUEST, S, "(g.cr0 & CR0_PE)"},
      {"CR4.VMXE clear", [](Rig& r) { r.clr(F::GUEST_CR4, CR4_VMXE); }, GUEST, S, "c.cr4_fixed0"},
      {"CR4 bit 24 (PKS, not supported)", [](Rig& r) { r.orr(F::GUEST_CR4, 1u << 24); }, GUEST, S,
       "c.cr4_fixed1"},
      {"DEBUGCTL.LBR (no LBR stack)", [](Rig& r) { r.set(F::GUEST_IA32_DEBUGCTL, 1); }, GUEST, S,
       "kDebugctlDefined"},
      {"IA-32e mode guest without CR0.PG (unrestricted guest)",
       [](Rig& r) {
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
         r.clr(F::GUEST_CR0, CR0_PG);
       },
       GUEST, S, "!g.ia32e || (g.cr0 & CR0_PG)"},
      {"IA-32e mode guest without CR4.PAE", [](Rig& r) { r.clr(F::GUEST_CR4, CR4_PAE); }, GUEST, S,
       "!g.ia32e || (g.cr4 & CR4_PAE)"},
      {"CR4.PCIDE outside IA-32e mode",
       [](Rig& r) {
         r.pae32(true);
         r.orr(F::GUEST_CR4, CR4_PCIDE);
       },
       GUEST, S, "CR4_PCIDE"},
      {"CR3 beyond MAXPHYADDR", [](Rig& r) { r.orr(F::GUEST_CR3, kFar); }, GUEST, S, "GUEST_CR3"},
      {"DR7 bit 32", [](Rig& r) { r.orr(F::GUEST_DR7, 1ull << 32); }, GUEST, S, "GUEST_DR7"},
      {"SYSENTER_ESP not canonical", [](Rig& r) { r.set(F::GUEST_SYSENTER_ESP, kNonCanonical57); },
       GUEST, S, "GUEST_SYSENTER_ESP"},
      {"SYSENTER_EIP not canonical", [](Rig& r) { r.set(F::GUEST_SYSENTER_EIP, kNonCanonical57); },
       GUEST, S, "GUEST_SYSENTER_EIP"},
      {"PAT entry 0 = 3", [](Rig& r) { r.set(F::GUEST_IA32_PAT, (kPat & ~0xFFull) | 3); }, GUEST, S,
       "pat_ok"},
      {"EFER reserved bit 9", [](Rig& r) { r.orr(F::GUEST_IA32_EFER, 1u << 9); }, GUEST, S,
       "kEferDefined"},
      {"EFER.LMA clear with IA-32e mode guest", [](Rig& r) { r.clr(F::GUEST_IA32_EFER, EFER_LMA); },
       GUEST, S, "EFER_LMA) == g.ia32e"},
      {"EFER.LMA set without IA-32e mode guest",
       [](Rig& r) {
         r.pae32(true);
         r.orr(F::GUEST_IA32_EFER, EFER_LMA);
       },
       GUEST, S, "EFER_LMA) == g.ia32e"},
      {"EFER.LME clear with IA-32e mode guest and CR0.PG",
       [](Rig& r) { r.clr(F::GUEST_IA32_EFER, EFER_LME); }, GUEST, S, "EFER_LME) == g.ia32e"},
  });
  run_passes({
      {"DEBUGCTL and DR7 unchecked without load debug controls",
       [](Rig& r) {
         r.clr(F::VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS);
         r.set(F::GUEST_IA32_DEBUGCTL, ~0ull), r.set(F::GUEST_DR7, ~0ull);
       }},
      {"DEBUGCTL.BTF and FREEZE_WHILE_SMM", [](Rig& r) { r.set(F::GUEST_IA32_DEBUGCTL, 0x4002); }},
      {"EFER.LME without CR0.PG (real mode about to enter long mode)",
       [](Rig& r) {
         r.real_mode();
         r.set(F::GUEST_IA32_EFER, EFER_LME);
       }},
      {"PAT and EFER unchecked when not loaded",
       [](Rig& r) {
         r.clr(F::VM_ENTRY_CONTROLS, ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER);
         r.set(F::GUEST_IA32_PAT, ~0ull), r.set(F::GUEST_IA32_EFER, ~0ull);
       }},
      {"CR4.PCIDE in IA-32e mode", [](Rig& r) { r.orr(F::GUEST_CR4, CR4_PCIDE); }},
  });
}

TEST_CASE("Entry checks: guest segment registers (26.3.1.2)", "[entry]") {
  const char* S = "26.3.1.2";
  // A usable LDT in the GDT at 0x28.
  auto ldt = [](Rig& r) {
    r.set(F::GUEST_LDTR_SELECTOR, 0x28), r.set(F::GUEST_LDTR_BASE, 0x6000);
    r.set(F::GUEST_LDTR_LIMIT, 0xFFF), r.set(F::GUEST_LDTR_AR_BYTES, 0x82);
  };
  run_rows({
      // Selectors.
      {"TR selector TI", [](Rig& r) { r.set(F::GUEST_TR_SELECTOR, 0x1C); }, GUEST, S,
       "(tr.selector & 4) == 0"},
      {"LDTR selector TI (usable)",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_SELECTOR, 0x2C);
       },
       GUEST, S, "(ldtr.selector & 4) == 0"},
      {"SS RPL differs from CS RPL", [](Rig& r) { r.set(F::GUEST_SS_SELECTOR, 0x13); }, GUEST, S,
       "ss.rpl() == cs.rpl()"},
      // Bases.
      {"TR base not canonical", [](Rig& r) { r.set(F::GUEST_TR_BASE, kNonCanonical57); }, GUEST, S,
       "canonical(c, g.tr.base)"},
      {"FS base not canonical", [](Rig& r) { r.set(F::GUEST_FS_BASE, kNonCanonical57); }, GUEST, S,
       "canonical(c, g.fs.base)"},
      {"GS base not canonical", [](Rig& r) { r.set(F::GUEST_GS_BASE, kNonCanonical57); }, GUEST, S,
       "canonical(c, g.gs.base)"},
      {"LDTR base not canonical (usable)",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_BASE, kNonCanonical57);
       },
       GUEST, S, "canonical(c, g.ldtr.base)"},
      {"CS base bit 32", [](Rig& r) { r.set(F::GUEST_CS_BASE, 1ull << 32); }, GUEST, S,
       "g.cs.base >> 32"},
      {"SS base bit 40 (usable)", [](Rig& r) { r.set(F::GUEST_SS_BASE, 1ull << 40); }, GUEST, S,
       "g.ss.base >> 32"},
      {"DS base bit 63 (usable)", [](Rig& r) { r.set(F::GUEST_DS_BASE, 1ull << 63); }, GUEST, S,
       "g.ds.base >> 32"},
      {"ES base bit 33 (usable)", [](Rig& r) { r.set(F::GUEST_ES_BASE, 1ull << 33); }, GUEST, S,
       "g.es.base >> 32"},
      // Virtual-8086 mode.
      {"v86: CS base not selector * 16",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_CS_BASE, 0x10010);
       },
       GUEST, S, "s.base == s.selector << 4", "GUEST_CS"},
      {"v86: GS base not selector * 16",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_GS_SELECTOR, 0x2001);
       },
       GUEST, S, "s.base == s.selector << 4", "GUEST_GS"},
      {"v86: SS limit 0xFFFFF",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_SS_LIMIT, 0xFFFFF);
       },
       GUEST, S, "s.limit == 0xFFFF", "GUEST_SS"},
      {"v86: DS access rights 0xF2",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_DS_AR_BYTES, 0xF2);
       },
       GUEST, S, "s.ar == 0xF3", "GUEST_DS"},
      {"v86: ES unusable",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_ES_AR_BYTES, 0x100F3);
       },
       GUEST, S, "s.ar == 0xF3", "GUEST_ES"},
      {"v86: FS access rights 0x93 (DPL 0)",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_FS_AR_BYTES, 0x93);
       },
       GUEST, S, "s.ar == 0xF3", "GUEST_FS"},
      // CS and SS types.
      {"CS type 3 without unrestricted guest", [](Rig& r) { r.set(F::GUEST_CS_AR_BYTES, 0xA093); },
       GUEST, S, "(g.unrestricted && t == 3)"},
      {"CS type 10 (not accessed)", [](Rig& r) { r.set(F::GUEST_CS_AR_BYTES, 0xA09A); }, GUEST, S,
       "(g.unrestricted && t == 3)"},
      {"CS type 1 with unrestricted guest",
       [](Rig& r) {
         r.real_mode();
         r.set(F::GUEST_CS_AR_BYTES, 0x91);
       },
       GUEST, S, "(g.unrestricted && t == 3)"},
      {"SS type 11 (code)", [](Rig& r) { r.set(F::GUEST_SS_AR_BYTES, 0xC09B); }, GUEST, S,
       "ss.type() == 3"},
      {"SS type 1 (read-only)", [](Rig& r) { r.set(F::GUEST_SS_AR_BYTES, 0xC091); }, GUEST, S,
       "ss.type() == 3"},
      // DPLs.
      {"CS type 3 with DPL 3 (unrestricted guest)",
       [](Rig& r) {
         r.real_mode();
         r.set(F::GUEST_CS_AR_BYTES, 0xF3);
       },
       GUEST, S, "t != 3 || cs.dpl() == 0"},
      {"non-conforming CS DPL differs from SS DPL",
       [](Rig& r) { r.set(F::GUEST_CS_AR_BYTES, 0xA0BB); }, GUEST, S, "cs.dpl() == ss.dpl()"},
      {"conforming CS DPL above SS DPL", [](Rig& r) { r.set(F::GUEST_CS_AR_BYTES, 0xA0FF); }, GUEST,
       S, "cs.dpl() <= ss.dpl()"},
      {"SS DPL differs from its RPL",
       [](Rig& r) {
         r.set(F::GUEST_CS_AR_BYTES, 0xA09F);  // conforming CS, DPL 0
         r.set(F::GUEST_SS_AR_BYTES, 0xC0F3);
       },
       GUEST, S, "ss.dpl() == ss.rpl()"},
      {"SS DPL 3 in real mode (unrestricted guest)",
       [](Rig& r) {
         r.real_mode();
         r.set(F::GUEST_SS_AR_BYTES, 0xF3);
         r.set(F::GUEST_CS_AR_BYTES, 0xFB);
       },
       GUEST, S, "ss.dpl() == 0"},
      {"SS DPL 3 with a type-3 CS (unrestricted guest, protected mode)",
       [](Rig& r) {
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
         r.pae32(true);
         r.set(F::GUEST_CS_AR_BYTES, 0xC093);
         r.set(F::GUEST_SS_AR_BYTES, 0xC0F3);
       },
       GUEST, S, "ss.dpl() == 0"},
      {"64-bit CS with D/B set", [](Rig& r) { r.orr(F::GUEST_CS_AR_BYTES, 1u << 14); }, GUEST, S,
       "(cs.ar & AR_DB)"},
      // Code and data segment access rights.
      {"CS with S clear", [](Rig& r) { r.clr(F::GUEST_CS_AR_BYTES, 1u << 4); }, GUEST, S,
       "s.ar & AR_S", "GUEST_CS"},
      {"CS not present", [](Rig& r) { r.clr(F::GUEST_CS_AR_BYTES, 1u << 7); }, GUEST, S,
       "s.ar & AR_P", "GUEST_CS"},
      {"CS reserved bit 8", [](Rig& r) { r.orr(F::GUEST_CS_AR_BYTES, 1u << 8); }, GUEST, S,
       "AR_RSVD_11_8", "GUEST_CS"},
      {"CS limit 0xFFFFF000 with G", [](Rig& r) { r.set(F::GUEST_CS_LIMIT, 0xFFFFF000); }, GUEST, S,
       "(s.limit & 0xFFF) == 0xFFF", "GUEST_CS"},
      {"CS limit 0x100000 without G",
       [](Rig& r) {
         r.clr(F::GUEST_CS_AR_BYTES, 1u << 15);
         r.set(F::GUEST_CS_LIMIT, 0x100000);
       },
       GUEST, S, "(s.limit >> 20) == 0", "GUEST_CS"},
      {"CS reserved bit 17", [](Rig& r) { r.orr(F::GUEST_CS_AR_BYTES, 1u << 17); }, GUEST, S,
       "AR_RSVD_31_17", "GUEST_CS"},
      {"SS not present (usable)", [](Rig& r) { r.clr(F::GUEST_SS_AR_BYTES, 1u << 7); }, GUEST, S,
       "s.ar & AR_P", "GUEST_SS"},
      {"SS reserved bit 31", [](Rig& r) { r.orr(F::GUEST_SS_AR_BYTES, 1u << 31); }, GUEST, S,
       "AR_RSVD_31_17", "GUEST_SS"},
      {"DS not accessed", [](Rig& r) { r.set(F::GUEST_DS_AR_BYTES, 0xC092); }, GUEST, S,
       "AR_TYPE_ACCESSED", "GUEST_DS"},
      {"ES execute-only code", [](Rig& r) { r.set(F::GUEST_ES_AR_BYTES, 0xC099); }, GUEST, S,
       "AR_TYPE_WRITE_READ", "GUEST_ES"},
      {"FS DPL below RPL", [](Rig& r) { r.set(F::GUEST_FS_SELECTOR, 0x13); }, GUEST, S,
       "s.dpl() >= s.rpl()", "GUEST_FS"},
      {"GS system type (S clear)", [](Rig& r) { r.set(F::GUEST_GS_AR_BYTES, 0xC083); }, GUEST, S,
       "s.ar & AR_S", "GUEST_GS"},
      {"DS limit 0xFFFFFFFF without G", [](Rig& r) { r.set(F::GUEST_DS_AR_BYTES, 0x4093); }, GUEST,
       S, "(s.limit >> 20) == 0", "GUEST_DS"},
      {"ES reserved bit 11", [](Rig& r) { r.orr(F::GUEST_ES_AR_BYTES, 1u << 11); }, GUEST, S,
       "AR_RSVD_11_8", "GUEST_ES"},
      // TR.
      {"TR type 9 (available TSS)", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x89); }, GUEST, S,
       "!g.ia32e || tr.type() == 11", "GUEST_TR"},
      {"TR type 3 (16-bit busy TSS) in IA-32e mode",
       [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x83); }, GUEST, S, "!g.ia32e || tr.type() == 11",
       "GUEST_TR"},
      {"TR type 1 outside IA-32e mode",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_TR_AR_BYTES, 0x81);
       },
       GUEST, S, "g.ia32e || tr.type() == 3", "GUEST_TR"},
      {"TR with S set", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x9B); }, GUEST, S,
       "!(tr.ar & AR_S)", "GUEST_TR"},
      {"TR not present", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x0B); }, GUEST, S,
       "tr.ar & AR_P", "GUEST_TR"},
      {"TR reserved bit 9", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x28B); }, GUEST, S,
       "tr.ar & AR_RSVD_11_8", "GUEST_TR"},
      {"TR limit 0x67 with G", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x808B); }, GUEST, S,
       "(s.limit & 0xFFF) == 0xFFF", "GUEST_TR"},
      {"TR unusable", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x1008B); }, GUEST, S, "tr.usable()",
       "GUEST_TR"},
      {"TR reserved bit 20", [](Rig& r) { r.set(F::GUEST_TR_AR_BYTES, 0x10008B); }, GUEST, S,
       "tr.ar & AR_RSVD_31_17", "GUEST_TR"},
      // LDTR.
      {"LDTR type 3",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_AR_BYTES, 0x83);
       },
       GUEST, S, "ldtr.type() == 2", "GUEST_LDTR"},
      {"LDTR with S set",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_AR_BYTES, 0x92);
       },
       GUEST, S, "!(ldtr.ar & AR_S)", "GUEST_LDTR"},
      {"LDTR not present",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_AR_BYTES, 0x02);
       },
       GUEST, S, "ldtr.ar & AR_P", "GUEST_LDTR"},
      {"LDTR reserved bit 10",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_AR_BYTES, 0x482);
       },
       GUEST, S, "ldtr.ar & AR_RSVD_11_8", "GUEST_LDTR"},
      {"LDTR limit 0x1FFFFF without G",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_LIMIT, 0x1FFFFF);
       },
       GUEST, S, "(s.limit >> 20) == 0", "GUEST_LDTR"},
      {"LDTR reserved bit 24",
       [=](Rig& r) {
         ldt(r);
         r.set(F::GUEST_LDTR_AR_BYTES, 0x1000082);
       },
       GUEST, S, "ldtr.ar & AR_RSVD_31_17", "GUEST_LDTR"},
  });
  run_passes({
      {"unusable SS, DS, ES, FS, GS: no checks on them",
       [](Rig& r) {
         for (F f : {F::GUEST_SS_AR_BYTES, F::GUEST_DS_AR_BYTES, F::GUEST_ES_AR_BYTES,
                     F::GUEST_FS_AR_BYTES, F::GUEST_GS_AR_BYTES})
           r.set(f, 0x10000 | 0xFFFE0F00);
         r.set(F::GUEST_SS_BASE, ~0ull), r.set(F::GUEST_DS_BASE, ~0ull),
             r.set(F::GUEST_ES_BASE, ~0ull);
       }},
      {"a usable LDT", ldt},
      {"conforming CS below SS DPL",
       [](Rig& r) {
         r.set(F::GUEST_SS_SELECTOR, 0x13), r.set(F::GUEST_CS_SELECTOR, 0x0B);
         r.set(F::GUEST_SS_AR_BYTES, 0xC0F3), r.set(F::GUEST_CS_AR_BYTES, 0xA09F);
         r.set(F::GUEST_DS_SELECTOR, 0x13), r.set(F::GUEST_DS_AR_BYTES, 0xC0F3);
         r.set(F::GUEST_ES_SELECTOR, 0x13), r.set(F::GUEST_ES_AR_BYTES, 0xC0F3);
         r.set(F::GUEST_FS_SELECTOR, 0x13), r.set(F::GUEST_FS_AR_BYTES, 0xC0F3);
         r.set(F::GUEST_GS_SELECTOR, 0x13), r.set(F::GUEST_GS_AR_BYTES, 0xC0F3);
       }},
      {"DS: conforming code with RPL above DPL",
       [](Rig& r) { r.set(F::GUEST_DS_SELECTOR, 0x13), r.set(F::GUEST_DS_AR_BYTES, 0xC09F); }},
      {"unrestricted guest: SS RPL, DS DPL < RPL and CS type 3 allowed",
       [](Rig& r) {
         r.real_mode();
         r.set(F::GUEST_SS_SELECTOR, 0x3), r.set(F::GUEST_SS_BASE, 0x30);
         r.set(F::GUEST_DS_SELECTOR, 0x3), r.set(F::GUEST_DS_BASE, 0x30);
         r.set(F::GUEST_CS_AR_BYTES, 0x93);
       }},
      {"32-bit guest: 16-bit busy TSS",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_TR_AR_BYTES, 0x83);
       }},
      {"compatibility-mode CS with D/B in IA-32e mode",
       [](Rig& r) { r.set(F::GUEST_CS_AR_BYTES, 0xC09B); }},
  });
}

TEST_CASE("Entry checks: guest descriptor-table registers, RIP and RFLAGS (26.3.1.3, 26.3.1.4)",
          "[entry]") {
  run_rows({
      {"GDTR base not canonical", [](Rig& r) { r.set(F::GUEST_GDTR_BASE, kNonCanonical57); }, GUEST,
       "26.3.1.3", "GUEST_GDTR_BASE"},
      {"IDTR base not canonical", [](Rig& r) { r.set(F::GUEST_IDTR_BASE, kNonCanonical57); }, GUEST,
       "26.3.1.3", "GUEST_IDTR_BASE"},
      {"GDTR limit 0x10000", [](Rig& r) { r.set(F::GUEST_GDTR_LIMIT, 0x10000); }, GUEST, "26.3.1.3",
       "GUEST_GDTR_LIMIT"},
      {"IDTR limit 0xFFFFFFFF", [](Rig& r) { r.set(F::GUEST_IDTR_LIMIT, 0xFFFFFFFF); }, GUEST,
       "26.3.1.3", "GUEST_IDTR_LIMIT"},
      {"RIP bit 32 in a 32-bit guest",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_RIP, 1ull << 32);
       },
       GUEST, "26.3.1.4", "(rip >> 32) == 0"},
      {"RIP bit 32 in compatibility mode",
       [](Rig& r) {
         r.set(F::GUEST_CS_AR_BYTES, 0xC09B);
         r.set(F::GUEST_RIP, 1ull << 32);
       },
       GUEST, "26.3.1.4", "(rip >> 32) == 0"},
      {"64-bit RIP not canonical", [](Rig& r) { r.set(F::GUEST_RIP, kNonCanonical57); }, GUEST,
       "26.3.1.4", "canonical(c, rip)"},
      {"RFLAGS reserved bit 3", [](Rig& r) { r.orr(F::GUEST_RFLAGS, 1u << 3); }, GUEST, "26.3.1.4",
       "kRflagsDefined"},
      {"RFLAGS reserved bit 15", [](Rig& r) { r.orr(F::GUEST_RFLAGS, 1u << 15); }, GUEST,
       "26.3.1.4", "kRflagsDefined"},
      {"RFLAGS reserved bit 22", [](Rig& r) { r.orr(F::GUEST_RFLAGS, 1u << 22); }, GUEST,
       "26.3.1.4", "kRflagsDefined"},
      {"RFLAGS bit 1 clear", [](Rig& r) { r.set(F::GUEST_RFLAGS, 0); }, GUEST, "26.3.1.4",
       "FLAG_FIXED1"},
      {"RFLAGS.VM in real mode (unrestricted guest)",
       [](Rig& r) {
         r.v86();
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
         r.set(F::GUEST_CR0, CR0_ET | CR0_NE);
       },
       GUEST, "26.3.1.4", "FLAG_VM"},
      {"external interrupt injected with RFLAGS.IF clear",
       [](Rig& r) { r.inject(INTR_TYPE_EXT_INTR, 0x30); }, GUEST, "26.3.1.4", "FLAG_IF"},
  });
  run_passes({
      {"64-bit RIP canonical with 57 bits",
       [](Rig& r) { r.set(F::GUEST_RIP, 0xFF00000000000000); }},
  });
}

TEST_CASE("Entry checks: guest non-register state (26.3.1.5)", "[entry]") {
  const char* S = "26.3.1.5";
  auto with_if = [](Rig& r) { r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_IF); };
  run_rows({
      {"activity state 4", [](Rig& r) { r.set(F::GUEST_ACTIVITY_STATE, 4); }, GUEST, S,
       "activity_supported"},
      {"wait-for-SIPI without the MISC capability",
       [](Rig& r) {
         r.caps.misc &= ~MISC_ACTIVITY_WAIT_SIPI;
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
       },
       GUEST, S, "activity_supported"},
      {"HLT with SS.DPL 3",
       [](Rig& r) {
         r.v86();
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
       },
       GUEST, S, "g.ss.dpl() == 0"},
      {"HLT with blocking by STI",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
       },
       GUEST, S, "act == ACTIVITY_ACTIVE"},
      {"shutdown with blocking by MOV SS",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
       },
       GUEST, S, "act == ACTIVITY_ACTIVE"},
      {"#GP injected into HLT",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
         r.inject(INTR_TYPE_HW_EXCEPTION, 13, true);
       },
       GUEST, S, "injectable_in"},
      {"software interrupt injected into HLT",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
         r.inject(INTR_TYPE_SW_INTR, 0x80);
         r.set(F::VM_ENTRY_INSTRUCTION_LEN, 2);
       },
       GUEST, S, "injectable_in"},
      {"external interrupt injected into shutdown",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
       },
       GUEST, S, "injectable_in"},
      {"NMI injected into wait-for-SIPI",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
         r.inject(INTR_TYPE_NMI, 2);
       },
       GUEST, S, "injectable_in"},
      {"interruptibility bit 4 (enclave, no SGX)",
       [](Rig& r) { r.set(F::GUEST_INTERRUPTIBILITY_INFO, 0x10); }, GUEST, S,
       "(intr & ~0xFull) == 0"},
      {"interruptibility bit 31", [](Rig& r) { r.set(F::GUEST_INTERRUPTIBILITY_INFO, 1u << 31); },
       GUEST, S, "(intr & ~0xFull) == 0"},
      {"blocking by STI and by MOV SS",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
       },
       GUEST, S, "!(sti && mov_ss)"},
      {"blocking by STI with RFLAGS.IF clear",
       [](Rig& r) { r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI); }, GUEST, S,
       "|| !sti"},
      {"external interrupt injected under blocking by STI",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
       },
       GUEST, S, "!g.injecting(INTR_TYPE_EXT_INTR) || !(sti || mov_ss)"},
      {"external interrupt injected under blocking by MOV SS",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
       },
       GUEST, S, "!g.injecting(INTR_TYPE_EXT_INTR) || !(sti || mov_ss)"},
      {"NMI injected under blocking by MOV SS",
       [](Rig& r) {
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
         r.inject(INTR_TYPE_NMI, 2);
       },
       GUEST, S, "!g.injecting(INTR_TYPE_NMI) || !mov_ss"},
      {"NMI injected under blocking by STI (model-specific: rejected)",
       [](Rig& r) {
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_IF);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
         r.inject(INTR_TYPE_NMI, 2);
       },
       GUEST, S, "!g.injecting(INTR_TYPE_NMI) || !sti"},
      {"blocking by SMI outside SMM",
       [](Rig& r) { r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_SMI); }, GUEST, S,
       "INTERRUPTIBILITY_SMI"},
      {"virtual NMIs: NMI injected with virtual-NMI blocking",
       [](Rig& r) {
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_NMI);
         r.inject(INTR_TYPE_NMI, 2);
       },
       GUEST, S, "INTERRUPTIBILITY_NMI"},
      {"pending debug exceptions bit 4",
       [](Rig& r) { r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, 0x10); }, GUEST, S,
       "kPendingDbgDefined"},
      {"pending debug exceptions bit 16 (RTM, not supported)",
       [](Rig& r) { r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_RTM); }, GUEST, S,
       "kPendingDbgDefined"},
      {"pending debug exceptions bit 63",
       [](Rig& r) { r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, 1ull << 63); }, GUEST, S,
       "kPendingDbgDefined"},
      {"TF set, BTF clear, MOV SS blocking, BS clear",
       [](Rig& r) {
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_TF);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
       },
       GUEST, S, "!stepping || (pending & PENDING_DBG_BS)"},
      {"TF set, BTF clear, HLT, BS clear",
       [](Rig& r) {
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_TF);
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
       },
       GUEST, S, "!stepping || (pending & PENDING_DBG_BS)"},
      {"TF clear, STI blocking, BS set",
       [=](Rig& r) {
         with_if(r);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
         r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS);
       },
       GUEST, S, "stepping || !(pending & PENDING_DBG_BS)"},
      {"TF and BTF set, MOV SS blocking, BS set",
       [](Rig& r) {
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_TF);
         r.set(F::GUEST_IA32_DEBUGCTL, 2);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
         r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS);
       },
       GUEST, S, "stepping || !(pending & PENDING_DBG_BS)"},
      // VMCS link pointer: qualification 4.
      {"link pointer not 4-KiB aligned",
       [](Rig& r) { r.set(F::VMCS_LINK_POINTER, SHADOW_VMCS + 0x10); }, GUEST, S,
       "(link & 0xFFF) == 0", nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer beyond MAXPHYADDR", [](Rig& r) { r.set(F::VMCS_LINK_POINTER, kFar); }, GUEST,
       S, "addr_ok(g.c, link)", nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer: wrong revision identifier",
       [](Rig& r) { r.mem.put32(SHADOW_VMCS, (r.caps.revision_id + 1) | VMCS_SHADOW_INDICATOR); },
       GUEST, S, "g.c.revision_id", nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer: not a shadow VMCS with VMCS shadowing",
       [](Rig& r) { r.mem.put32(SHADOW_VMCS, r.caps.revision_id); }, GUEST, S, "== shadowing",
       nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer: a shadow VMCS without VMCS shadowing",
       [](Rig& r) { r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VMCS_SHADOWING); }, GUEST, S,
       "== shadowing", nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer: the current VMCS",
       [](Rig& r) {
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VMCS_SHADOWING);
         r.set(F::VMCS_LINK_POINTER, VMCS_PA);
       },
       GUEST, S, "link != g.v.pa", nullptr, ENTRY_QUAL_LINK_PTR},
      {"link pointer: no memory reads as 1s", [](Rig& r) { r.ctx.mem = nullptr; }, GUEST, S,
       "g.c.revision_id", nullptr, ENTRY_QUAL_LINK_PTR},
  });
  run_passes({
      {"HLT with an external interrupt, NMI, #DB, #MC or pending MTF injected",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_IF);
         r.inject(INTR_TYPE_EXT_INTR, 0x20);
         REQUIRE(r.run().ok());
         r.inject(INTR_TYPE_NMI, 2);
         REQUIRE(r.run().ok());
         r.inject(INTR_TYPE_HW_EXCEPTION, 1);
         REQUIRE(r.run().ok());
         r.inject(INTR_TYPE_OTHER_EVENT, 0);
         REQUIRE(r.run().ok());
         r.inject(INTR_TYPE_HW_EXCEPTION, 18);
       }},
      {"shutdown with an NMI injected",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
         r.inject(INTR_TYPE_NMI, 2);
       }},
      {"shutdown with #MC injected",
       [](Rig& r) {
         r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
         r.inject(INTR_TYPE_HW_EXCEPTION, 18);
       }},
      {"wait-for-SIPI", [](Rig& r) { r.set(F::GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI); }},
      {"NMI blocking without virtual NMIs",
       [](Rig& r) {
         r.clr(F::PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_NMI);
         r.inject(INTR_TYPE_NMI, 2);
       }},
      {"TF set, MOV SS blocking, BS set",
       [](Rig& r) {
         r.set(F::GUEST_RFLAGS, FLAG_FIXED1 | FLAG_TF);
         r.set(F::GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
         r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS | 0xF | PENDING_DBG_ENABLED_BP);
       }},
      {"BS set without blocking or HLT",
       [](Rig& r) { r.set(F::GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS); }},
      {"no link pointer", [](Rig& r) { r.set(F::VMCS_LINK_POINTER, ~0ull); }},
      {"link pointer to an ordinary VMCS without shadowing",
       [](Rig& r) {
         r.clr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_VMCS_SHADOWING);
         r.set(F::VMCS_LINK_POINTER, VMXON_PA);
       }},
  });
}

TEST_CASE("Entry checks: PDPTEs (26.3.1.6)", "[entry]") {
  const char* S = "26.3.1.6";
  run_rows({
      {"EPT: PDPTE field 0 reserved bit 1",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_PDPTR0, 0x30003);
       },
       GUEST, S, "kPdpteReservedLow", "GUEST_PDPTR0", ENTRY_QUAL_PDPTE},
      {"EPT: PDPTE field 2 reserved bit 7",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_PDPTR2, 0x30081);
       },
       GUEST, S, "kPdpteReservedLow", "GUEST_PDPTR2", ENTRY_QUAL_PDPTE},
      {"EPT: PDPTE field 1 beyond MAXPHYADDR",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_PDPTR1, kFar | 1);
       },
       GUEST, S, "kPdpteReservedLow", "GUEST_PDPTR1", ENTRY_QUAL_PDPTE},
      {"EPT: PDPTE field 3 with XD (bit 63, reserved in PDPTEs)",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_PDPTR3, (1ull << 63) | 0x40001);
       },
       GUEST, S, "kPdpteReservedLow", "GUEST_PDPTR3", ENTRY_QUAL_PDPTE},
      {"no EPT: PDPTE 1 in memory with reserved bit 5",
       [](Rig& r) {
         r.pae32(false);
         r.mem.put64(GUEST_PDPT + 8, 0x31021);
       },
       GUEST, S, "kPdpteReservedLow", "PDPTE1", ENTRY_QUAL_PDPTE},
      {"no EPT: PDPTE 3 in memory beyond MAXPHYADDR",
       [](Rig& r) {
         r.pae32(false);
         r.mem.put64(GUEST_PDPT + 24, kFar | 0x1001);
       },
       GUEST, S, "kPdpteReservedLow", "PDPTE3", ENTRY_QUAL_PDPTE},
      {"no EPT: the table is at CR3[31:5]",
       [](Rig& r) {
         r.pae32(false);
         r.set(F::GUEST_CR3, GUEST_PDPT + 0x20 + 0x1F);  // bits 4:0 ignored
         r.mem.put64(GUEST_PDPT + 0x20, 0x30001);
         r.mem.put64(GUEST_PDPT + 0x28, 0x7);  // reserved bits 2:1
       },
       GUEST, S, "kPdpteReservedLow", "PDPTE1", ENTRY_QUAL_PDPTE},
      {"no EPT: PDPTEs beyond memory read as 1s",
       [](Rig& r) {
         r.pae32(false);
         r.set(F::GUEST_CR3, 0xFFFFF000);
       },
       GUEST, S, "kPdpteReservedLow", "PDPTE0", ENTRY_QUAL_PDPTE},
  });
  run_passes({
      {"not-present PDPTEs may hold anything",
       [](Rig& r) {
         r.pae32(true);
         r.set(F::GUEST_PDPTR3, ~1ull);
         r.mem.put64(GUEST_PDPT + 24, ~1ull);
       }},
      {"no PAE paging: PDPTEs unchecked (paging off, unrestricted guest)",
       [](Rig& r) {
         r.pae32(true);
         r.orr(F::SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
         r.clr(F::GUEST_CR0, CR0_PG);
         r.set(F::GUEST_PDPTR0, ~0ull);
       }},
      {"IA-32e mode: PDPTEs unchecked", [](Rig& r) { r.set(F::GUEST_PDPTR0, ~0ull); }},
  });
  SECTION("without an output array the PDPTEs are checked, not returned") {
    Rig r;
    r.pae32(false);
    CHECK(check_guest_state(r.v, r.caps, r.ctx, nullptr).ok());
    r.mem.put64(GUEST_PDPT, 0x7);
    CHECK(check_guest_state(r.v, r.caps, r.ctx, nullptr).qualification == ENTRY_QUAL_PDPTE);
  }
  SECTION("a failed PDPTE check leaves the output alone") {
    Rig r;
    r.pae32(false);
    r.mem.put64(GUEST_PDPT, 0x7);
    CHECK(!r.run().ok());
    CHECK(r.pdpte[1] == ~0ull);
  }
}

// Random mutations of the baselines: whatever the VMCS holds, the checks return a
// well-formed result (a kind, a section of the right chapter, a check text, a
// qualification that belongs to the section) and read no memory beyond MAXPHYADDR.
TEST_CASE("Entry checks: random VMCS contents give well-formed results", "[entry]") {
  std::mt19937_64 rng(20261122);
  const int kIterations = 300000;
  int failures[4] = {};
  // The five baselines, built once; each iteration mutates a copy of one's VMCS.
  std::vector<Rig> bases(5);
  bases[1].real_mode();
  bases[2].pae32(true);
  bases[3].pae32(false);
  bases[4].v86();
  for (int it = 0; it < kIterations; it++) {
    Rig& b = bases[rng() % bases.size()];
    struct {
      Vmcs v;
      EntryContext ctx;
      uint64_t pdpte[4];
      EntryCheckResult run(const VmxCaps& caps) {
        EntryCheckResult r = check_controls(v, caps, ctx);
        if (r.ok()) r = check_host_state(v, caps, ctx);
        if (r.ok()) r = check_guest_state(v, caps, ctx, pdpte);
        return r;
      }
    } r{b.v, b.ctx, {}};
    const int n = 1 + int(rng() % 4);
    for (int k = 0; k < n; k++) {
      const F f = F(rng() % kFieldCount);
      const uint64_t old = r.v.get(f);
      uint64_t x;
      switch (rng() % 6) {
        case 0: x = rng(); break;
        case 1: x = old ^ (1ull << (rng() % 64)); break;
        case 2: x = old ^ (1ull << (rng() % 32)); break;
        case 3: x = rng() % 16; break;
        case 4: x = ~0ull; break;
        default: x = 0; break;
      }
      r.v.set(f, x);
    }
    if (rng() % 8 == 0) r.ctx.host_ia32e = !r.ctx.host_ia32e;
    const bool bad_header = rng() % 16 == 0;
    if (bad_header) b.mem.put32(SHADOW_VMCS, uint32_t(rng()));
    // Now and then another model: fewer features, another MAXPHYADDR.
    VmxCaps caps = b.caps;
    if (rng() % 8 == 0) {
      caps.maxphyaddr = uint8_t(36 + rng() % 17);
      caps.misc &= rng();
      caps.ept_vpid &= rng();
      caps.cr4_fixed1 &= ~(rng() & CR4_LA57);
      caps.entry |= uint32_t(rng()) & (ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR);
    }
    b.mem.max_read = 0;
    const EntryCheckResult res = r.run(caps);
    INFO("highest address read " << b.mem.max_read);
    REQUIRE(b.mem.max_read < (1ull << caps.maxphyaddr));
    if (bad_header) b.mem.put32(SHADOW_VMCS, b.caps.revision_id | VMCS_SHADOW_INDICATOR);
    failures[int(res.failure)]++;
    if (res.ok()) {
      REQUIRE(res.check == nullptr);
      REQUIRE(res.section == nullptr);
      REQUIRE(res.qualification == 0);
      continue;
    }
    REQUIRE(res.check != nullptr);
    REQUIRE(res.section != nullptr);
    const std::string sec = res.section;
    switch (res.failure) {
      case EntryFailure::kControls:
        REQUIRE(sec.rfind("26.2.1.", 0) == 0);
        REQUIRE(res.qualification == 0);
        break;
      case EntryFailure::kHostState:
        REQUIRE((sec == "26.2.2" || sec == "26.2.3" || sec == "26.2.4"));
        REQUIRE(res.qualification == 0);
        break;
      case EntryFailure::kGuestState:
        REQUIRE(sec.rfind("26.3.1.", 0) == 0);
        if (sec == "26.3.1.6")
          REQUIRE(res.qualification == ENTRY_QUAL_PDPTE);
        else
          REQUIRE((res.qualification == ENTRY_QUAL_DEFAULT ||
                   res.qualification == ENTRY_QUAL_LINK_PTR));
        if (res.qualification == ENTRY_QUAL_LINK_PTR) REQUIRE(sec == "26.3.1.5");
        break;
      default: FAIL("unknown failure kind");
    }
  }
  INFO("passed " << failures[0] << ", controls " << failures[1] << ", host " << failures[2]
                 << ", guest " << failures[3]);
  // Each outcome occurs: the mutations reach every stage of the checks.
  CHECK(failures[0] > 0);
  CHECK(failures[1] > 0);
  CHECK(failures[2] > 0);
  CHECK(failures[3] > 0);
}
