// VM-entry checks on the guest-state area (SDM Vol. 3C 26.3.1): one row per check of
// the guest control and debug registers and MSRs, segment and descriptor-table
// registers, RIP and RFLAGS, non-register state and PDPTEs, with its exact outcome.
#include "tests/vmx/entry_checks_rig.h"

using namespace entrytest;  // NOLINT: the rig, and vmx/isa names through it

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
