// A small bare-metal hypervisor library for VMX test kernels (opt-in: add
// ${NESTSIM_WORKLOAD_VMX_SOURCES} to a workload's SOURCES).
//
// Shape: the L1 hypervisor (the kernel's main) and its guest's code live side by side in
// one file. The guest is a C function run in VMX non-root operation on its own stack,
// sharing the host's page tables, GDT and IDT by default (vmx_vcpu_init); it talks to
// the hypervisor with VMCALL (vmx_guest_*: RAX = code, RBX/RCX = arguments), which
// vmx_vcpu_run_guest turns into printing, rt_report records and failed asserts.
//
//   static void guest_code(void) { cpuid...; GUEST_ASSERT(x == 1); }   // non-root
//   int main(void) {                                                    // root (L1)
//     vmx_enable();  struct vmx_vcpu v;  vmx_vcpu_init(&v, guest_code);
//     uint32_t r = vmx_vcpu_run(&v);  ...check r, vmx_read(VMCS_EXIT_QUALIFICATION)...
//   }
//
// Instruction wrappers return the architectural outcome (SDM Vol. 3C 31.2 "Conventions"):
// VMX_SUCCEED (CF = ZF = 0), VMX_FAIL_INVALID (CF = 1) or VMX_FAIL_VALID (ZF = 1; the
// number is in VMCS_VM_INSTRUCTION_ERROR of the current VMCS). Faults (#UD, #GP) are
// caught with vmx_catch.
//
// Memory: VMCS regions, bitmaps and EPT tables come from a static pool of zeroed,
// identity-mapped 4 KiB pages (vmx_alloc_page); nothing is ever freed.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---- MSRs (SDM Vol. 4 Table 2-2; Vol. 3D Appendix A) ------------------------------------
enum {
  MSR_IA32_FEATURE_CONTROL = 0x3A,
  MSR_IA32_SYSENTER_CS = 0x174, MSR_IA32_SYSENTER_ESP = 0x175, MSR_IA32_SYSENTER_EIP = 0x176,
  MSR_IA32_DEBUGCTL = 0x1D9, MSR_IA32_PAT = 0x277, MSR_IA32_PERF_GLOBAL_CTRL = 0x38F,
  MSR_IA32_VMX_BASIC = 0x480, MSR_IA32_VMX_PINBASED_CTLS = 0x481,
  MSR_IA32_VMX_PROCBASED_CTLS = 0x482, MSR_IA32_VMX_EXIT_CTLS = 0x483,
  MSR_IA32_VMX_ENTRY_CTLS = 0x484, MSR_IA32_VMX_MISC = 0x485,
  MSR_IA32_VMX_CR0_FIXED0 = 0x486, MSR_IA32_VMX_CR0_FIXED1 = 0x487,
  MSR_IA32_VMX_CR4_FIXED0 = 0x488, MSR_IA32_VMX_CR4_FIXED1 = 0x489,
  MSR_IA32_VMX_VMCS_ENUM = 0x48A, MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48B,
  MSR_IA32_VMX_EPT_VPID_CAP = 0x48C, MSR_IA32_VMX_TRUE_PINBASED_CTLS = 0x48D,
  MSR_IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E, MSR_IA32_VMX_TRUE_EXIT_CTLS = 0x48F,
  MSR_IA32_VMX_TRUE_ENTRY_CTLS = 0x490, MSR_IA32_VMX_VMFUNC = 0x491,
  MSR_IA32_VMX_PROCBASED_CTLS3 = 0x492,
  MSR_IA32_EFER = 0xC0000080, MSR_IA32_STAR = 0xC0000081, MSR_IA32_LSTAR = 0xC0000082,
  MSR_IA32_FS_BASE = 0xC0000100, MSR_IA32_GS_BASE = 0xC0000101,
  MSR_IA32_KERNEL_GS_BASE = 0xC0000102, MSR_IA32_TSC_AUX = 0xC0000103,
  MSR_IA32_TSC = 0x10, MSR_IA32_APIC_BASE = 0x1B, MSR_IA32_SPEC_CTRL = 0x48,
  MSR_X2APIC_TPR = 0x808,
};
// IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7).
enum { FEATURE_CONTROL_LOCK = 1u << 0, FEATURE_CONTROL_VMX_IN_SMX = 1u << 1,
       FEATURE_CONTROL_VMX_OUTSIDE_SMX = 1u << 2 };
enum { EFER_SCE = 1u << 0, EFER_LME = 1u << 8, EFER_LMA = 1u << 10, EFER_NXE = 1u << 11 };
enum {
  CR0_PE = 1u << 0, CR0_MP = 1u << 1, CR0_EM = 1u << 2, CR0_TS = 1u << 3, CR0_ET = 1u << 4,
  CR0_NE = 1u << 5, CR0_WP = 1u << 16, CR0_AM = 1u << 18, CR0_NW = 1u << 29,
  CR0_CD = 1u << 30, CR0_PG = 1u << 31,
  CR4_VME = 1u << 0, CR4_PVI = 1u << 1, CR4_TSD = 1u << 2, CR4_DE = 1u << 3, CR4_PSE = 1u << 4,
  CR4_PAE = 1u << 5, CR4_MCE = 1u << 6, CR4_PGE = 1u << 7, CR4_PCE = 1u << 8,
  CR4_OSFXSR = 1u << 9, CR4_VMXE = 1u << 13, CR4_SMXE = 1u << 14, CR4_FSGSBASE = 1u << 16,
  CR4_PCIDE = 1u << 17, CR4_OSXSAVE = 1u << 18, CR4_SMEP = 1u << 20, CR4_SMAP = 1u << 21,
  CR4_PKE = 1u << 22, CR4_CET = 1u << 23,
};
#define CR4_LA57 (1ull << 12)

// IA32_VMX_BASIC (SDM Vol. 3D A.1).
#define VMX_BASIC_REVISION(b) ((uint32_t)(b) & 0x7FFFFFFFu)
#define VMX_BASIC_REGION_SIZE(b) ((uint32_t)((b) >> 32) & 0x1FFFu)
#define VMX_BASIC_32BIT_ADDR (1ull << 48)
#define VMX_BASIC_DUAL_MONITOR (1ull << 49)
#define VMX_BASIC_MEMTYPE(b) ((unsigned)((b) >> 50) & 0xFu)
#define VMX_BASIC_INOUT (1ull << 54)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define VMX_BASIC_NO_HW_ERRCODE_CHECK (1ull << 56)
// IA32_VMX_MISC (A.6).
#define VMX_MISC_PREEMPTION_RATE(m) ((unsigned)(m) & 0x1F)
#define VMX_MISC_STORE_LMA (1ull << 5)
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI (1ull << 8)
#define VMX_MISC_CR3_TARGETS(m) ((unsigned)((m) >> 16) & 0x1FF)
#define VMX_MISC_MAX_MSRS(m) (512u * (1u + (unsigned)(((m) >> 25) & 7)))
#define VMX_MISC_VMWRITE_ANY (1ull << 29)
#define VMX_MISC_INJECT_LEN0 (1ull << 30)
// IA32_VMX_EPT_VPID_CAP (A.10).
#define EPT_CAP_EXEC_ONLY (1ull << 0)
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WALK5 (1ull << 7)
#define EPT_CAP_UC (1ull << 8)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_1G (1ull << 17)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_AD (1ull << 21)
#define EPT_CAP_ADV_EXIT_INFO (1ull << 22)
#define EPT_CAP_SSS (1ull << 23)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define VPID_CAP_INVVPID (1ull << 32)
#define VPID_CAP_INDIV_ADDR (1ull << 40)
#define VPID_CAP_SINGLE (1ull << 41)
#define VPID_CAP_ALL (1ull << 42)
#define VPID_CAP_SINGLE_NONGLOBAL (1ull << 43)

// ---- VMCS field encodings (SDM Vol. 3D Appendix B) -----------------------------------
enum vmcs_field {
  // 16-bit control (B.1.1)
  VMCS_VPID = 0x0000, VMCS_POSTED_INTR_NV = 0x0002, VMCS_EPTP_INDEX = 0x0004,
  // 16-bit guest state (B.1.2)
  VMCS_GUEST_ES_SEL = 0x0800, VMCS_GUEST_CS_SEL = 0x0802, VMCS_GUEST_SS_SEL = 0x0804,
  VMCS_GUEST_DS_SEL = 0x0806, VMCS_GUEST_FS_SEL = 0x0808, VMCS_GUEST_GS_SEL = 0x080A,
  VMCS_GUEST_LDTR_SEL = 0x080C, VMCS_GUEST_TR_SEL = 0x080E,
  VMCS_GUEST_INTR_STATUS = 0x0810, VMCS_GUEST_PML_INDEX = 0x0812,
  // 16-bit host state (B.1.3)
  VMCS_HOST_ES_SEL = 0x0C00, VMCS_HOST_CS_SEL = 0x0C02, VMCS_HOST_SS_SEL = 0x0C04,
  VMCS_HOST_DS_SEL = 0x0C06, VMCS_HOST_FS_SEL = 0x0C08, VMCS_HOST_GS_SEL = 0x0C0A,
  VMCS_HOST_TR_SEL = 0x0C0C,
  // 64-bit control (B.2.1)
  VMCS_IO_BITMAP_A = 0x2000, VMCS_IO_BITMAP_B = 0x2002, VMCS_MSR_BITMAP = 0x2004,
  VMCS_EXIT_MSR_STORE_ADDR = 0x2006, VMCS_EXIT_MSR_LOAD_ADDR = 0x2008,
  VMCS_ENTRY_MSR_LOAD_ADDR = 0x200A, VMCS_EXECUTIVE_VMCS_PTR = 0x200C,
  VMCS_PML_ADDR = 0x200E, VMCS_TSC_OFFSET = 0x2010, VMCS_VIRTUAL_APIC_ADDR = 0x2012,
  VMCS_APIC_ACCESS_ADDR = 0x2014, VMCS_POSTED_INTR_DESC = 0x2016,
  VMCS_VMFUNC_CONTROLS = 0x2018, VMCS_EPT_POINTER = 0x201A,
  VMCS_EOI_EXIT_BITMAP0 = 0x201C, VMCS_EOI_EXIT_BITMAP1 = 0x201E,
  VMCS_EOI_EXIT_BITMAP2 = 0x2020, VMCS_EOI_EXIT_BITMAP3 = 0x2022,
  VMCS_EPTP_LIST_ADDR = 0x2024, VMCS_VMREAD_BITMAP = 0x2026, VMCS_VMWRITE_BITMAP = 0x2028,
  VMCS_VE_INFO_ADDR = 0x202A, VMCS_XSS_EXIT_BITMAP = 0x202C,
  VMCS_ENCLS_EXIT_BITMAP = 0x202E, VMCS_TSC_MULTIPLIER = 0x2032,
  VMCS_TERTIARY_PROC_CONTROLS = 0x2034,
  // 64-bit read-only data (B.2.2)
  VMCS_GUEST_PHYSICAL_ADDR = 0x2400,
  // 64-bit guest state (B.2.3)
  VMCS_LINK_POINTER = 0x2800, VMCS_GUEST_DEBUGCTL = 0x2802, VMCS_GUEST_PAT = 0x2804,
  VMCS_GUEST_EFER = 0x2806, VMCS_GUEST_PERF_GLOBAL_CTRL = 0x2808,
  VMCS_GUEST_PDPTE0 = 0x280A, VMCS_GUEST_PDPTE1 = 0x280C, VMCS_GUEST_PDPTE2 = 0x280E,
  VMCS_GUEST_PDPTE3 = 0x2810, VMCS_GUEST_BNDCFGS = 0x2812,
  // 64-bit host state (B.2.4)
  VMCS_HOST_PAT = 0x2C00, VMCS_HOST_EFER = 0x2C02, VMCS_HOST_PERF_GLOBAL_CTRL = 0x2C04,
  // 32-bit control (B.3.1)
  VMCS_PIN_CONTROLS = 0x4000, VMCS_PROC_CONTROLS = 0x4002, VMCS_EXCEPTION_BITMAP = 0x4004,
  VMCS_PF_ERROR_MASK = 0x4006, VMCS_PF_ERROR_MATCH = 0x4008, VMCS_CR3_TARGET_COUNT = 0x400A,
  VMCS_EXIT_CONTROLS = 0x400C, VMCS_EXIT_MSR_STORE_COUNT = 0x400E,
  VMCS_EXIT_MSR_LOAD_COUNT = 0x4010, VMCS_ENTRY_CONTROLS = 0x4012,
  VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014, VMCS_ENTRY_INTR_INFO = 0x4016,
  VMCS_ENTRY_EXCEPTION_ERROR = 0x4018, VMCS_ENTRY_INSN_LEN = 0x401A,
  VMCS_TPR_THRESHOLD = 0x401C, VMCS_PROC_CONTROLS2 = 0x401E, VMCS_PLE_GAP = 0x4020,
  VMCS_PLE_WINDOW = 0x4022,
  // 32-bit read-only data (B.3.2)
  VMCS_VM_INSTRUCTION_ERROR = 0x4400, VMCS_EXIT_REASON = 0x4402,
  VMCS_EXIT_INTR_INFO = 0x4404, VMCS_EXIT_INTR_ERROR = 0x4406,
  VMCS_IDT_VECTORING_INFO = 0x4408, VMCS_IDT_VECTORING_ERROR = 0x440A,
  VMCS_EXIT_INSN_LEN = 0x440C, VMCS_EXIT_INSN_INFO = 0x440E,
  // 32-bit guest state (B.3.3)
  VMCS_GUEST_ES_LIMIT = 0x4800, VMCS_GUEST_CS_LIMIT = 0x4802, VMCS_GUEST_SS_LIMIT = 0x4804,
  VMCS_GUEST_DS_LIMIT = 0x4806, VMCS_GUEST_FS_LIMIT = 0x4808, VMCS_GUEST_GS_LIMIT = 0x480A,
  VMCS_GUEST_LDTR_LIMIT = 0x480C, VMCS_GUEST_TR_LIMIT = 0x480E,
  VMCS_GUEST_GDTR_LIMIT = 0x4810, VMCS_GUEST_IDTR_LIMIT = 0x4812,
  VMCS_GUEST_ES_AR = 0x4814, VMCS_GUEST_CS_AR = 0x4816, VMCS_GUEST_SS_AR = 0x4818,
  VMCS_GUEST_DS_AR = 0x481A, VMCS_GUEST_FS_AR = 0x481C, VMCS_GUEST_GS_AR = 0x481E,
  VMCS_GUEST_LDTR_AR = 0x4820, VMCS_GUEST_TR_AR = 0x4822,
  VMCS_GUEST_INTERRUPTIBILITY = 0x4824, VMCS_GUEST_ACTIVITY_STATE = 0x4826,
  VMCS_GUEST_SMBASE = 0x4828, VMCS_GUEST_SYSENTER_CS = 0x482A,
  VMCS_PREEMPTION_TIMER_VALUE = 0x482E,
  // 32-bit host state (B.3.4)
  VMCS_HOST_SYSENTER_CS = 0x4C00,
  // natural-width control (B.4.1)
  VMCS_CR0_GUEST_HOST_MASK = 0x6000, VMCS_CR4_GUEST_HOST_MASK = 0x6002,
  VMCS_CR0_READ_SHADOW = 0x6004, VMCS_CR4_READ_SHADOW = 0x6006,
  VMCS_CR3_TARGET0 = 0x6008, VMCS_CR3_TARGET1 = 0x600A, VMCS_CR3_TARGET2 = 0x600C,
  VMCS_CR3_TARGET3 = 0x600E,
  // natural-width read-only data (B.4.2)
  VMCS_EXIT_QUALIFICATION = 0x6400, VMCS_IO_RCX = 0x6402, VMCS_IO_RSI = 0x6404,
  VMCS_IO_RDI = 0x6406, VMCS_IO_RIP = 0x6408, VMCS_GUEST_LINEAR_ADDR = 0x640A,
  // natural-width guest state (B.4.3)
  VMCS_GUEST_CR0 = 0x6800, VMCS_GUEST_CR3 = 0x6802, VMCS_GUEST_CR4 = 0x6804,
  VMCS_GUEST_ES_BASE = 0x6806, VMCS_GUEST_CS_BASE = 0x6808, VMCS_GUEST_SS_BASE = 0x680A,
  VMCS_GUEST_DS_BASE = 0x680C, VMCS_GUEST_FS_BASE = 0x680E, VMCS_GUEST_GS_BASE = 0x6810,
  VMCS_GUEST_LDTR_BASE = 0x6812, VMCS_GUEST_TR_BASE = 0x6814,
  VMCS_GUEST_GDTR_BASE = 0x6816, VMCS_GUEST_IDTR_BASE = 0x6818, VMCS_GUEST_DR7 = 0x681A,
  VMCS_GUEST_RSP = 0x681C, VMCS_GUEST_RIP = 0x681E, VMCS_GUEST_RFLAGS = 0x6820,
  VMCS_GUEST_PENDING_DBG = 0x6822, VMCS_GUEST_SYSENTER_ESP = 0x6824,
  VMCS_GUEST_SYSENTER_EIP = 0x6826,
  // natural-width host state (B.4.4)
  VMCS_HOST_CR0 = 0x6C00, VMCS_HOST_CR3 = 0x6C02, VMCS_HOST_CR4 = 0x6C04,
  VMCS_HOST_FS_BASE = 0x6C06, VMCS_HOST_GS_BASE = 0x6C08, VMCS_HOST_TR_BASE = 0x6C0A,
  VMCS_HOST_GDTR_BASE = 0x6C0C, VMCS_HOST_IDTR_BASE = 0x6C0E,
  VMCS_HOST_SYSENTER_ESP = 0x6C10, VMCS_HOST_SYSENTER_EIP = 0x6C12,
  VMCS_HOST_RSP = 0x6C14, VMCS_HOST_RIP = 0x6C16,
};
// Segment fields of one register are at a fixed stride from ES (B.1.2, B.3.3, B.4.3):
// seg = 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS, 6 LDTR, 7 TR.
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };
#define VMCS_GUEST_SEL(seg) (VMCS_GUEST_ES_SEL + 2 * (seg))
#define VMCS_GUEST_LIMIT(seg) (VMCS_GUEST_ES_LIMIT + 2 * (seg))
#define VMCS_GUEST_AR(seg) (VMCS_GUEST_ES_AR + 2 * (seg))
#define VMCS_GUEST_BASE(seg) (VMCS_GUEST_ES_BASE + 2 * (seg))
// An encoding's access type bit (24.11.2): 1 = the high 32 bits of a 64-bit field.
#define VMCS_HIGH(field) ((field) | 1)

// ---- VM-execution, VM-exit and VM-entry controls (SDM Vol. 3C 25.6-25.8) ----------------
enum {
  PIN_EXTINT_EXITING = 1u << 0, PIN_NMI_EXITING = 1u << 3, PIN_VIRTUAL_NMIS = 1u << 5,
  PIN_PREEMPTION_TIMER = 1u << 6, PIN_POSTED_INTERRUPTS = 1u << 7,
};
enum {
  PROC_INTR_WINDOW = 1u << 2, PROC_TSC_OFFSETTING = 1u << 3, PROC_HLT_EXITING = 1u << 7,
  PROC_INVLPG_EXITING = 1u << 9, PROC_MWAIT_EXITING = 1u << 10,
  PROC_RDPMC_EXITING = 1u << 11, PROC_RDTSC_EXITING = 1u << 12,
  PROC_CR3_LOAD_EXITING = 1u << 15, PROC_CR3_STORE_EXITING = 1u << 16,
  PROC_TERTIARY_CONTROLS = 1u << 17, PROC_CR8_LOAD_EXITING = 1u << 19,
  PROC_CR8_STORE_EXITING = 1u << 20, PROC_TPR_SHADOW = 1u << 21,
  PROC_NMI_WINDOW = 1u << 22, PROC_MOV_DR_EXITING = 1u << 23,
  PROC_UNCOND_IO_EXITING = 1u << 24, PROC_USE_IO_BITMAPS = 1u << 25, PROC_MTF = 1u << 27,
  PROC_USE_MSR_BITMAPS = 1u << 28, PROC_MONITOR_EXITING = 1u << 29,
  PROC_PAUSE_EXITING = 1u << 30, PROC_SECONDARY_CONTROLS = 1u << 31,
};
enum {
  PROC2_VIRT_APIC_ACCESSES = 1u << 0, PROC2_EPT = 1u << 1, PROC2_DESC_TABLE_EXITING = 1u << 2,
  PROC2_RDTSCP = 1u << 3, PROC2_VIRT_X2APIC = 1u << 4, PROC2_VPID = 1u << 5,
  PROC2_WBINVD_EXITING = 1u << 6, PROC2_UNRESTRICTED_GUEST = 1u << 7,
  PROC2_APIC_REG_VIRT = 1u << 8, PROC2_VIRT_INTR_DELIVERY = 1u << 9,
  PROC2_PAUSE_LOOP_EXITING = 1u << 10, PROC2_RDRAND_EXITING = 1u << 11,
  PROC2_INVPCID = 1u << 12, PROC2_VMFUNC = 1u << 13, PROC2_VMCS_SHADOWING = 1u << 14,
  PROC2_ENCLS_EXITING = 1u << 15, PROC2_RDSEED_EXITING = 1u << 16, PROC2_PML = 1u << 17,
  PROC2_EPT_VE = 1u << 18, PROC2_XSAVES = 1u << 20, PROC2_MODE_BASED_EXEC = 1u << 22,
  PROC2_TSC_SCALING = 1u << 25,
};
enum {
  EXIT_SAVE_DEBUG = 1u << 2, EXIT_HOST_ADDR_SPACE_SIZE = 1u << 9,
  EXIT_LOAD_PERF_GLOBAL = 1u << 12, EXIT_ACK_INTR = 1u << 15, EXIT_SAVE_PAT = 1u << 18,
  EXIT_LOAD_PAT = 1u << 19, EXIT_SAVE_EFER = 1u << 20, EXIT_LOAD_EFER = 1u << 21,
  EXIT_SAVE_PREEMPTION_TIMER = 1u << 22, EXIT_CLEAR_BNDCFGS = 1u << 23,
};
enum {
  ENTRY_LOAD_DEBUG = 1u << 2, ENTRY_IA32E_GUEST = 1u << 9, ENTRY_SMM = 1u << 10,
  ENTRY_DEACT_DUAL_MONITOR = 1u << 11, ENTRY_LOAD_PERF_GLOBAL = 1u << 13,
  ENTRY_LOAD_PAT = 1u << 14, ENTRY_LOAD_EFER = 1u << 15, ENTRY_LOAD_BNDCFGS = 1u << 16,
};
// VM-entry interruption information and its exit/IDT-vectoring twins (25.8.3, 28.2.2).
enum {
  INTR_INFO_VALID = 1u << 31, INTR_INFO_DELIVER_ERROR = 1u << 11,
  INTR_INFO_NMI_UNBLOCK_IRET = 1u << 12,
  INTR_TYPE_EXT_INTR = 0u << 8, INTR_TYPE_NMI = 2u << 8, INTR_TYPE_HW_EXCEPTION = 3u << 8,
  INTR_TYPE_SW_INTR = 4u << 8, INTR_TYPE_PRIV_SW_EXCEPTION = 5u << 8,
  INTR_TYPE_SW_EXCEPTION = 6u << 8, INTR_TYPE_OTHER = 7u << 8,
};
// Guest interruptibility state (25.4.2) and activity states.
enum {
  INTERRUPTIBILITY_STI = 1u << 0, INTERRUPTIBILITY_MOV_SS = 1u << 1,
  INTERRUPTIBILITY_SMI = 1u << 2, INTERRUPTIBILITY_NMI = 1u << 3,
  INTERRUPTIBILITY_ENCLAVE = 1u << 4,
};
enum { ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_SIPI = 3 };
// Segment access rights as the VMCS holds them (25.4.1): descriptor bits 40-47, 52-55,
// and bit 16 "unusable".
enum {
  AR_TYPE_MASK = 0xF, AR_S = 1u << 4, AR_DPL_SHIFT = 5, AR_P = 1u << 7, AR_AVL = 1u << 12,
  AR_L = 1u << 13, AR_DB = 1u << 14, AR_G = 1u << 15, AR_UNUSABLE = 1u << 16,
};

// ---- exit reasons (SDM Vol. 3D Appendix C) and instruction errors (Vol. 3C 31.4) ------
enum vmx_exit_reason {
  EXIT_REASON_EXCEPTION_NMI = 0, EXIT_REASON_EXTERNAL_INTERRUPT = 1,
  EXIT_REASON_TRIPLE_FAULT = 2, EXIT_REASON_INIT = 3, EXIT_REASON_SIPI = 4,
  EXIT_REASON_IO_SMI = 5, EXIT_REASON_OTHER_SMI = 6, EXIT_REASON_INTERRUPT_WINDOW = 7,
  EXIT_REASON_NMI_WINDOW = 8, EXIT_REASON_TASK_SWITCH = 9, EXIT_REASON_CPUID = 10,
  EXIT_REASON_GETSEC = 11, EXIT_REASON_HLT = 12, EXIT_REASON_INVD = 13,
  EXIT_REASON_INVLPG = 14, EXIT_REASON_RDPMC = 15, EXIT_REASON_RDTSC = 16,
  EXIT_REASON_RSM = 17, EXIT_REASON_VMCALL = 18, EXIT_REASON_VMCLEAR = 19,
  EXIT_REASON_VMLAUNCH = 20, EXIT_REASON_VMPTRLD = 21, EXIT_REASON_VMPTRST = 22,
  EXIT_REASON_VMREAD = 23, EXIT_REASON_VMRESUME = 24, EXIT_REASON_VMWRITE = 25,
  EXIT_REASON_VMXOFF = 26, EXIT_REASON_VMXON = 27, EXIT_REASON_CR_ACCESS = 28,
  EXIT_REASON_DR_ACCESS = 29, EXIT_REASON_IO = 30, EXIT_REASON_RDMSR = 31,
  EXIT_REASON_WRMSR = 32, EXIT_REASON_INVALID_GUEST_STATE = 33,
  EXIT_REASON_MSR_LOADING = 34, EXIT_REASON_MWAIT = 36, EXIT_REASON_MTF = 37,
  EXIT_REASON_MONITOR = 39, EXIT_REASON_PAUSE = 40, EXIT_REASON_MACHINE_CHECK = 41,
  EXIT_REASON_TPR_BELOW_THRESHOLD = 43, EXIT_REASON_APIC_ACCESS = 44,
  EXIT_REASON_EOI_INDUCED = 45, EXIT_REASON_GDTR_IDTR = 46, EXIT_REASON_LDTR_TR = 47,
  EXIT_REASON_EPT_VIOLATION = 48, EXIT_REASON_EPT_MISCONFIG = 49,
  EXIT_REASON_INVEPT = 50, EXIT_REASON_RDTSCP = 51, EXIT_REASON_PREEMPTION_TIMER = 52,
  EXIT_REASON_INVVPID = 53, EXIT_REASON_WBINVD = 54, EXIT_REASON_XSETBV = 55,
  EXIT_REASON_APIC_WRITE = 56, EXIT_REASON_RDRAND = 57, EXIT_REASON_INVPCID = 58,
  EXIT_REASON_VMFUNC = 59, EXIT_REASON_ENCLS = 60, EXIT_REASON_RDSEED = 61,
  EXIT_REASON_PML_FULL = 62, EXIT_REASON_XSAVES = 63, EXIT_REASON_XRSTORS = 64,
};
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)
#define EXIT_REASON_BASIC(r) ((r) & 0xFFFFu)
enum vmx_insn_error {
  VMXERR_VMCALL_IN_ROOT = 1, VMXERR_VMCLEAR_INVALID_ADDR = 2, VMXERR_VMCLEAR_VMXON_PTR = 3,
  VMXERR_VMLAUNCH_NONCLEAR = 4, VMXERR_VMRESUME_NONLAUNCHED = 5,
  VMXERR_VMRESUME_AFTER_VMXOFF = 6, VMXERR_ENTRY_INVALID_CONTROL = 7,
  VMXERR_ENTRY_INVALID_HOST = 8, VMXERR_VMPTRLD_INVALID_ADDR = 9,
  VMXERR_VMPTRLD_VMXON_PTR = 10, VMXERR_VMPTRLD_BAD_REVISION = 11,
  VMXERR_UNSUPPORTED_FIELD = 12, VMXERR_VMWRITE_READ_ONLY = 13, VMXERR_VMXON_IN_ROOT = 15,
  VMXERR_ENTRY_MOV_SS_BLOCKING = 26, VMXERR_INVALID_INVEPT_INVVPID = 28,
};
// Exit-qualification values of entry failures (SDM Vol. 3C 27.8).
enum { ENTRY_FAIL_QUAL_DEFAULT = 0, ENTRY_FAIL_QUAL_PDPTE = 2, ENTRY_FAIL_QUAL_NMI = 3,
       ENTRY_FAIL_QUAL_LINK = 4 };

// ---- instruction wrappers ------------------------------------------------------------
// SDM Vol. 3C 31.2: VMsucceed clears CF and ZF, VMfailInvalid sets CF, VMfailValid ZF.
enum vmx_status { VMX_SUCCEED = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

#define VMX_STATUS_FROM_FLAGS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_SUCCEED)
#define VMX_INSN_M64(name, insn)                                                    \
  static inline enum vmx_status name(uint64_t pa) {                                 \
    uint8_t cf, zf;                                                                 \
    __asm__ volatile(insn " %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(pa) : "memory");   \
    return VMX_STATUS_FROM_FLAGS(cf, zf);                                           \
  }
VMX_INSN_M64(vmxon, "vmxon")
VMX_INSN_M64(vmclear, "vmclear")
VMX_INSN_M64(vmptrld, "vmptrld")
#undef VMX_INSN_M64

static inline enum vmx_status vmxoff(void) {
  uint8_t cf, zf;
  __asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline enum vmx_status vmptrst(uint64_t* pa) {
  uint8_t cf, zf;
  __asm__ volatile("vmptrst %2" : "=@ccc"(cf), "=@ccz"(zf), "=m"(*pa) : : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline enum vmx_status vmread_checked(uint64_t field, uint64_t* value) {
  uint8_t cf, zf;
  uint64_t v = 0;
  __asm__ volatile("vmread %3, %2" : "=@ccc"(cf), "=@ccz"(zf), "+r"(v) : "r"(field) : "memory");
  *value = v;
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
// VMREAD with a memory destination (the other operand form).
static inline enum vmx_status vmread_mem(uint64_t field, uint64_t* value) {
  uint8_t cf, zf;
  __asm__ volatile("vmread %3, %2" : "=@ccc"(cf), "=@ccz"(zf), "+m"(*value) : "r"(field) : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline enum vmx_status vmwrite_checked(uint64_t field, uint64_t value) {
  uint8_t cf, zf;
  __asm__ volatile("vmwrite %3, %2" : "=@ccc"(cf), "=@ccz"(zf) : "r"(field), "rm"(value) : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
// VMLAUNCH/VMRESUME as bare instructions: only their failures return here (a successful
// one enters the guest, whose exits go to HOST_RIP). Use vmx_vcpu_run to run a guest.
static inline enum vmx_status vmlaunch_raw(void) {
  uint8_t cf, zf;
  __asm__ volatile("vmlaunch" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline enum vmx_status vmresume_raw(void) {
  uint8_t cf, zf;
  __asm__ volatile("vmresume" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
// INVEPT/INVVPID types (SDM Vol. 3C 31.3 "INVEPT", "INVVPID").
enum { INVEPT_SINGLE = 1, INVEPT_GLOBAL = 2 };
enum { INVVPID_ADDR = 0, INVVPID_SINGLE = 1, INVVPID_ALL = 2, INVVPID_SINGLE_NONGLOBAL = 3 };
static inline enum vmx_status invept(uint64_t type, uint64_t eptp) {
  struct { uint64_t eptp, zero; } d = {eptp, 0};
  uint8_t cf, zf;
  __asm__ volatile("invept %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type) : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline enum vmx_status invvpid(uint64_t type, uint16_t vpid, uint64_t lin) {
  struct { uint64_t vpid, lin; } d = {vpid, lin};
  uint8_t cf, zf;
  __asm__ volatile("invvpid %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type) : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
// VMCALL and VMFUNC from root operation report their outcome in the flags; in non-root
// operation they exit (or, for VMFUNC 0, switch the EPTP).
static inline enum vmx_status vmcall(void) {
  uint8_t cf, zf;
  __asm__ volatile("vmcall" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
  return VMX_STATUS_FROM_FLAGS(cf, zf);
}
static inline void vmfunc(uint32_t function, uint32_t index) {
  __asm__ volatile("vmfunc" : : "a"(function), "c"(index) : "memory");
}

// VMREAD/VMWRITE that must succeed (a failure ends the run with the field and the error).
uint64_t vmx_read(uint64_t field);
void vmx_write(uint64_t field, uint64_t value);
// field |= set, &= ~clear.
void vmx_set_bits(uint64_t field, uint64_t set, uint64_t clear);
// VM-instruction error of the current VMCS (0 when none is current).
uint32_t vmx_insn_error(void);

// ---- faults -------------------------------------------------------------------------
// Runs fn(arg) with every exception vector (0-31 but NMI) caught: returns -1 when fn
// returned, or the vector of the first exception it raised (fn is abandoned there;
// callee-saved registers and the stack are restored). The error code is in
// vmx_caught_error. It installs its own rt_set_handler handlers for those vectors and
// clears them afterwards: a handler a test had set there must be set again.
int vmx_catch(void (*fn)(void*), void* arg);
extern uint64_t vmx_caught_error;

// ---- capabilities -------------------------------------------------------------------
struct vmx_caps {
  uint64_t basic, misc, vmcs_enum, ept_vpid, vmfunc, proc3;
  uint64_t pin, proc, exit, entry, proc2;  // the TRUE_* MSRs when BASIC bit 55 says so
  uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};
extern struct vmx_caps vmx_caps;  // filled by vmx_read_caps (vmx_enable calls it)
bool vmx_supported(void);         // CPUID.1:ECX.VMX[5]
void vmx_read_caps(void);
// (want | allowed-0) & allowed-1 of a control capability MSR (A.3-A.5).
uint32_t vmx_adjust(uint64_t cap, uint32_t want);
static inline bool vmx_allowed1(uint64_t cap, uint32_t bit) { return (cap >> 32) & bit; }
static inline bool vmx_allowed0(uint64_t cap, uint32_t bit) { return !((uint32_t)cap & bit); }
bool vmx_has_proc2(uint32_t bit);  // secondary controls present and bit allowed-1
// CR0/CR4 with the VMX fixed bits applied (A.7, A.8).
uint64_t vmx_fix_cr0(uint64_t cr0);
uint64_t vmx_fix_cr4(uint64_t cr4);

// ---- memory -------------------------------------------------------------------------
// A zeroed, 4 KiB-aligned page from the static pool; ends the run when it is empty.
void* vmx_alloc_page(void);
// A VMCS (or VMXON) region: a zeroed page with the revision identifier in its first
// dword (bit 31 = shadow-VMCS indicator when `shadow`).
void* vmx_alloc_vmcs(bool shadow);
static inline uint64_t vmx_pa(const void* p) { return (uint64_t)p; }  // identity mapped

// ---- VMX operation ------------------------------------------------------------------
// IA32_FEATURE_CONTROL (lock + VMX outside SMX when not yet locked), CR0/CR4 fixed bits,
// CR4.VMXE, VMXON on a fresh region. Ends the run with a message when VMX is not
// available (no CPUID bit, or locked off by the firmware). vmx_disable: VMXOFF, VMXE off.
void vmx_enable(void);
void vmx_disable(void);
extern void* vmx_vmxon_region;

// ---- a virtual CPU --------------------------------------------------------------------
// Guest GPRs, saved and restored around VM entry by vmx_entry.asm (RSP, RIP and RFLAGS
// are in the VMCS). The layout is shared with the assembly.
struct vmx_gprs {
  uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
struct vmx_vcpu {
  struct vmx_gprs regs;     // must stay first (vmx_entry.asm)
  uint64_t host_rsp;        // HOST_RSP last written to this VMCS (vmx_entry.asm; 0: none)
  void* vmcs;               // its region (identity-mapped: address = physical address)
  bool launched;            // VMLAUNCH succeeded since the last VMCLEAR
  void* stack;              // the guest's stack page(s)
  // After vmx_vcpu_run: the outcome of the last entry attempt.
  enum vmx_status entry_status;  // VMX_SUCCEED when the guest ran (or failed entry, 33/34)
  uint32_t insn_error;           // VM-instruction error after VMX_FAIL_VALID
  uint32_t exit_reason;          // the full exit-reason field
  uint64_t exit_qual;
  // Bitmaps of the default setup (zeroed: nothing intercepted); NULL if not allocated.
  uint8_t* io_bitmap_a;
  uint8_t* io_bitmap_b;
  uint8_t* msr_bitmap;
};
// vmx_vcpu_run's return value when VMLAUNCH/VMRESUME themselves failed.
#define VMX_RUN_FAIL_INVALID 0xFFFFFFFEu
#define VMX_RUN_FAIL_VALID 0xFFFFFFFFu
// Allocates a VMCS, VMCLEARs and VMPTRLDs it, and writes a complete valid state: the
// controls at their defaults (vmx_default_controls), host state from the running kernel
// (vmx_write_host_state), a 64-bit guest at `guest_code` on a 4 KiB stack of its own
// sharing the host's CR3, GDT and IDT (vmx_write_guest_state). Returning from
// guest_code does vmx_guest_done().
void vmx_vcpu_init(struct vmx_vcpu* v, void (*guest_code)(void));
// Same, on an existing VMCS region (no allocation; the region is VMCLEARed first). With
// v->vmcs as the region it resets a vcpu to the default state, keeping its bitmaps
// (zeroed again) and stack: one VMCS per test case without exhausting the pool.
void vmx_vcpu_init_on(struct vmx_vcpu* v, void* vmcs, void (*guest_code)(void));
void vmx_default_controls(struct vmx_vcpu* v);
void vmx_write_host_state(void);
void vmx_write_guest_state(struct vmx_vcpu* v, void (*guest_code)(void));
// Points the guest at `code` with a fresh stack (RIP, RSP, RFLAGS = 2): a new guest run
// on the same VMCS.
void vmx_vcpu_set_guest(struct vmx_vcpu* v, void (*code)(void));
// Makes v's VMCS current (VMPTRLD) if it is not.
void vmx_vcpu_load(struct vmx_vcpu* v);
// Enters the guest (VMLAUNCH the first time, VMRESUME after) and returns at the next VM
// exit with the exit-reason field (bit 31 set for an entry failure), or
// VMX_RUN_FAIL_INVALID / VMX_RUN_FAIL_VALID when the instruction itself failed (then
// v->insn_error has the number).
uint32_t vmx_vcpu_run(struct vmx_vcpu* v);
// The trampoline itself (vmx_entry.asm), for hot loops that read only what they need:
// loads v->regs, VMLAUNCH (launched = 0) or VMRESUME, and returns VMX_SUCCEED after the
// next VM exit (v->regs then hold the guest's GPRs) or the failure status. HOST_RSP is
// written only when the trampoline's stack pointer differs from v->host_rsp. The caller
// keeps v->launched and must have v's VMCS current.
int vmx_enter(struct vmx_vcpu* v, uint64_t launched);
// Guest RIP += VM-exit instruction length (after an instruction's exit).
void vmx_skip_insn(void);
// Runs the guest, serving its VMCALL services (print, report, assert: vmx_guest_*) and
// CPUID (the host's values), until any other exit or vmx_guest_done/vmx_guest_sync; returns that exit's reason
// (VMX_EXIT_GUEST_DONE / VMX_EXIT_GUEST_SYNC for those two, with RBX in *arg when
// arg is not NULL). A failed guest assert ends the run (RT_EXIT_ASSERT).
#define VMX_EXIT_GUEST_DONE 0x10000u
#define VMX_EXIT_GUEST_SYNC 0x10001u
uint32_t vmx_vcpu_run_guest(struct vmx_vcpu* v, uint64_t* arg);
// Asserts that the guest ran to vmx_guest_done (else prints the exit and ends the run).
void vmx_vcpu_run_to_done(struct vmx_vcpu* v);
// The name of an exit reason ("CPUID"), for messages.
const char* vmx_exit_name(uint32_t reason);

// ---- guest side: the VMCALL convention ---------------------------------------------------
// RAX = VMX_HC_*, RBX, RCX = arguments. Codes are far from values a test's own VMCALL
// would use by accident.
enum {
  VMX_HC_DONE = 0x564D0000,    // the guest is finished
  VMX_HC_SYNC = 0x564D0001,    // RBX: a value for the hypervisor; returns to it
  VMX_HC_PRINT = 0x564D0002,   // RBX: NUL-terminated text to print
  VMX_HC_REPORT = 0x564D0003,  // RBX: key, RCX: value (printed, and recorded with rt_report)
  VMX_HC_ASSERT = 0x564D0004,  // RBX: struct vmx_guest_assert*
};
struct vmx_guest_assert {
  const char* file;
  int line;
  const char* expr;
};
void vmx_guest_done(void);
void vmx_guest_sync(uint64_t value);
void vmx_guest_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vmx_guest_report(const char* key, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void vmx_guest_assert_fail(const char* file, int line, const char* expr);
#define GUEST_ASSERT(cond) \
  ((cond) ? (void)0 : vmx_guest_assert_fail(__FILE_NAME__, __LINE__, #cond))

// ---- EPT (SDM Vol. 3C 29.3) ------------------------------------------------------------
enum {
  EPT_R = 1u << 0, EPT_W = 1u << 1, EPT_X = 1u << 2, EPT_RWX = 7,
  EPT_IGNORE_PAT = 1u << 6, EPT_LEAF = 1u << 7, EPT_A = 1u << 8, EPT_D = 1u << 9,
  EPT_USER_X = 1u << 10,
};
#define EPT_MEMTYPE(t) ((uint64_t)(t) << 3)  // leaf bits 5:3
enum { MT_UC = 0, MT_WC = 1, MT_WT = 4, MT_WP = 5, MT_WB = 6 };
#define EPT_ADDR_MASK 0x000FFFFFFFFFF000ull
struct vmx_ept {
  uint64_t* pml4;
  uint64_t eptp;  // memory type WB, 4-level walk, A/D as asked (25.6.11)
};
// A new EPT with an empty PML4. ad: set EPTP bit 6 (accessed/dirty flags).
void ept_init(struct vmx_ept* e, bool ad);
// Maps one page of `size` (4 KiB, 2 MiB or 1 GiB) at guest-physical `gpa` to `hpa` with
// leaf bits `flags` (permissions | EPT_MEMTYPE | EPT_IGNORE_PAT...); non-leaf entries get
// RWX. A larger leaf on the way is split first, keeping its mapping.
void ept_map(struct vmx_ept* e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags);
// Identity-maps [0, bytes) with `page` sized leaves (RWX, WB).
void ept_identity(struct vmx_ept* e, uint64_t bytes, uint64_t page);
// The entry at `level` (4 = PML4E ... 1 = PTE) on the walk of gpa, or NULL; a leaf
// above `level` ends the walk there (returned for its own level only).
uint64_t* ept_entry(struct vmx_ept* e, uint64_t gpa, int level);
// The leaf mapping gpa and its level (NULL when unmapped).
uint64_t* ept_leaf(struct vmx_ept* e, uint64_t gpa, int* level);
// Replaces the permission bits (2:0) of the leaf that maps gpa.
void ept_set_perms(struct vmx_ept* e, uint64_t gpa, uint64_t perms);
// Turns EPT on in the current VMCS (secondary control and EPTP).
void ept_enable(struct vmx_ept* e);

// ---- bitmaps (SDM Vol. 3C 25.6.4, 25.6.9, 25.6.15) ---------------------------------------
// MSR bitmap: read-low, read-high, write-low, write-high quarters (0..1FFFH and
// C0000000H..C0001FFFH).
void vmx_msr_intercept(uint8_t* bitmap, uint32_t msr, bool read, bool write);
void vmx_io_intercept(uint8_t* a, uint8_t* b, uint16_t port, bool on);
// VMREAD/VMWRITE bitmaps: bit (field & 0x7FFF) set = the access exits.
void vmx_field_bitmap_set(uint8_t* bitmap, uint32_t field, bool exits);
// Shadow VMCS: allocates a region with the shadow indicator, VMCLEARs it, sets the
// VMCS link pointer of the current VMCS and turns on VMCS shadowing with the two
// bitmaps (all-ones: everything exits; the caller clears bits). Returns the region.
struct vmx_shadow {
  void* vmcs;
  uint8_t* vmread_bitmap;
  uint8_t* vmwrite_bitmap;
};
void vmx_shadow_setup(struct vmx_shadow* s);
