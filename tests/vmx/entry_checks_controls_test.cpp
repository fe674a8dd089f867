// VM-entry checks on the VMX controls (SDM Vol. 3C 26.2.1): one row per check of the
// VM-execution, VM-exit and VM-entry control fields, with its exact outcome.
#include "tests/vmx/entry_checks_rig.h"

using namespace entrytest;  // NOLINT: the rig, and vmx/isa names through it

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
