// VM-entry checks on the host-state area (SDM Vol. 3C 26.2.2-26.2.4): one row per
// check of the host control registers and MSRs, segment and descriptor-table
// registers, and the address-space size, with its exact outcome.
#include "tests/vmx/entry_checks_rig.h"

using namespace entrytest;  // NOLINT: the rig, and vmx/isa names through it

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
