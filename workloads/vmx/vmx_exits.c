// VM exits of a 64-bit guest (SDM Vol. 3C 26.1 and chapter 28): one case per instruction
// or event and control, each on a fresh default VMCS. A case names its guest stub
// (vmx_exits_guest.asm: g_X sets up, i_X is the instruction, a_X follows it), the
// controls it sets, and the expected exit: reason, guest RIP (i_X), instruction length
// (a_X - i_X), exit qualification, and instruction-information bits. After the exit the
// hypervisor resumes the guest at a_X, which must run to its VMCALL(VMX_HC_DONE): the
// guest continues after an exit. Cases whose feature the CPU lacks are skipped (and
// said so).
#include "vmx_test.h"

#define STUB(x) extern char g_##x[], i_##x[], a_##x[];
STUB(cpuid) STUB(hlt) STUB(rdtsc) STUB(tsc_offset) STUB(rdtscp) STUB(rdmsr_low)
STUB(rdmsr_pass) STUB(wrmsr_low) STUB(rdmsr_high) STUB(rdmsr_outside) STUB(out_imm)
STUB(in_dx) STUB(out_pass) STUB(outsb) STUB(cr0_write) STUB(cr0_read) STUB(clts)
STUB(lmsw) STUB(cr4_write) STUB(cr4_read) STUB(cr3_write) STUB(cr3_read) STUB(cr8_write)
STUB(cr8_read) STUB(dr_read) STUB(invlpg) STUB(rdpmc) STUB(monitor) STUB(mwait)
STUB(pause) STUB(wbinvd) STUB(invd) STUB(rdrand) STUB(rdseed) STUB(xsetbv) STUB(vmcall)
STUB(ud2) STUB(pf) STUB(sgdt) STUB(str) STUB(vmxon) STUB(vmclear) STUB(vmptrld)
STUB(vmptrst) STUB(vmread) STUB(vmwrite) STUB(vmlaunch) STUB(vmresume) STUB(vmxoff)
STUB(invept) STUB(invvpid) STUB(mtf) STUB(nop) STUB(dr7_write) STUB(insb) STUB(out_dx_word)
STUB(lmsw_mem) STUB(invpcid) STUB(cr0_am) STUB(sidt) STUB(lgdt) STUB(sldt) STUB(ltr)
#undef STUB
extern char guest_buf[];

enum { NO_EXIT = -1 };
#define ANY_LEN (-1)

struct exit_case {
  const char* name;
  const char* sdm;
  bool (*supported)(void);          // NULL: always
  void (*setup)(struct vmx_vcpu*);  // controls, on the default VMCS
  const char* guest;                // g_X
  const char* rip;                  // where the guest is at the exit (i_X)
  const char* resume;               // where it continues (a_X); NULL: where it is
  int reason;                       // NO_EXIT: the guest runs straight to VMX_HC_DONE
  int len;                          // 0: resume - rip; ANY_LEN: not checked
  bool check_qual;
  uint64_t qual;
  uint32_t info_mask, info;         // VM-exit instruction information
  void (*check)(struct vmx_vcpu*);  // more checks at the exit; may fix controls up
  void (*check_done)(struct vmx_vcpu*);  // checks when the guest is done
  bool no_resume;                   // the exit ends the guest (triple fault)
};

static uint64_t t0, t1;
static const uint64_t kTscOffset = 1ull << 40;
static unsigned guest_pf_count;

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static bool cpuid_bit(uint32_t leaf, int reg, int bit) {
  uint32_t r[4];
  rt_cpuid(leaf & 0x80000000u, 0, r);
  if (r[0] < leaf) return false;
  rt_cpuid(leaf, 0, r);
  return (r[reg] >> bit) & 1;
}
static bool proc_allowed(uint32_t bit) { return vmx_allowed1(vmx_caps.proc, bit); }
static bool proc_allowed0(uint32_t bit) { return vmx_allowed0(vmx_caps.proc, bit); }
static void proc_set(uint32_t set, uint32_t clear) { vmx_set_bits(VMCS_PROC_CONTROLS, set, clear); }
static void proc2_set(uint32_t bit) {
  proc_set(PROC_SECONDARY_CONTROLS, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS2, bit, 0);
}

// ---- feature gates ---------------------------------------------------------------------
static bool has_hlt_exiting(void) { return proc_allowed(PROC_HLT_EXITING); }
static bool has_rdtsc_exiting(void) { return proc_allowed(PROC_RDTSC_EXITING); }
static bool has_tsc_offsetting(void) { return proc_allowed(PROC_TSC_OFFSETTING); }
static bool has_rdtscp(void) {
  return vmx_has_proc2(PROC2_RDTSCP) && has_rdtsc_exiting() && cpuid_bit(0x80000001u, 3, 27);
}
static bool has_msr_bitmaps(void) { return proc_allowed(PROC_USE_MSR_BITMAPS); }
static bool can_clear_msr_bitmaps(void) { return proc_allowed0(PROC_USE_MSR_BITMAPS); }
static bool has_io_bitmaps(void) { return proc_allowed(PROC_USE_IO_BITMAPS); }
static bool has_uncond_io(void) {
  return proc_allowed(PROC_UNCOND_IO_EXITING) && proc_allowed0(PROC_USE_IO_BITMAPS);
}
static bool has_cr3_exiting(void) {
  return proc_allowed(PROC_CR3_LOAD_EXITING) && VMX_MISC_CR3_TARGETS(vmx_caps.misc) >= 1;
}
static bool has_cr3_store(void) { return proc_allowed(PROC_CR3_STORE_EXITING); }
static bool has_cr8_load(void) { return proc_allowed(PROC_CR8_LOAD_EXITING); }
static bool has_cr8_store(void) { return proc_allowed(PROC_CR8_STORE_EXITING); }
static bool has_mov_dr(void) { return proc_allowed(PROC_MOV_DR_EXITING); }
static bool has_invlpg(void) { return proc_allowed(PROC_INVLPG_EXITING); }
static bool has_rdpmc(void) { return proc_allowed(PROC_RDPMC_EXITING); }
static bool has_monitor(void) { return proc_allowed(PROC_MONITOR_EXITING) && cpuid_bit(1, 2, 3); }
static bool has_mwait(void) { return proc_allowed(PROC_MWAIT_EXITING) && cpuid_bit(1, 2, 3); }
static bool has_pause(void) { return proc_allowed(PROC_PAUSE_EXITING); }
static bool has_wbinvd(void) { return vmx_has_proc2(PROC2_WBINVD_EXITING); }
static bool has_rdrand(void) { return vmx_has_proc2(PROC2_RDRAND_EXITING) && cpuid_bit(1, 2, 30); }
static bool has_rdseed(void) { return vmx_has_proc2(PROC2_RDSEED_EXITING) && cpuid_bit(7, 1, 18); }
static bool has_xsave(void) { return cpuid_bit(1, 2, 26) && (vmx_caps.cr4_fixed1 & CR4_OSXSAVE); }
static bool has_desc_exiting(void) { return vmx_has_proc2(PROC2_DESC_TABLE_EXITING); }
static bool has_invept(void) { return vmx_has_proc2(PROC2_EPT) && (vmx_caps.ept_vpid & EPT_CAP_INVEPT); }
static bool has_invvpid(void) {
  return vmx_has_proc2(PROC2_VPID) && (vmx_caps.ept_vpid & VPID_CAP_INVVPID);
}
static bool has_invpcid(void) {
  return vmx_has_proc2(PROC2_INVPCID) && has_invlpg() && cpuid_bit(7, 1, 10);
}
static bool has_mtf(void) { return proc_allowed(PROC_MTF); }
static bool has_intr_window(void) { return proc_allowed(PROC_INTR_WINDOW); }
static bool has_preemption_timer(void) { return vmx_allowed1(vmx_caps.pin, PIN_PREEMPTION_TIMER); }

// ---- set-ups --------------------------------------------------------------------------
static void s_none(struct vmx_vcpu* v) { (void)v; }
static void s_hlt(struct vmx_vcpu* v) { (void)v; proc_set(PROC_HLT_EXITING, 0); }
static void s_rdtsc(struct vmx_vcpu* v) { (void)v; proc_set(PROC_RDTSC_EXITING, 0); }
static void s_tsc_offset(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_TSC_OFFSETTING, PROC_RDTSC_EXITING);
  vmx_write(VMCS_TSC_OFFSET, kTscOffset);
  t0 = rdtsc();
}
static void s_rdtscp(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_RDTSC_EXITING, 0);
  proc2_set(PROC2_RDTSCP);
}
static void s_msr_bitmap(struct vmx_vcpu* v) {
  vmx_msr_intercept(v->msr_bitmap, MSR_IA32_SYSENTER_CS, true, false);
  vmx_msr_intercept(v->msr_bitmap, MSR_IA32_SYSENTER_ESP, false, true);
  vmx_msr_intercept(v->msr_bitmap, MSR_IA32_STAR, true, false);
}
static void s_no_msr_bitmap(struct vmx_vcpu* v) { (void)v; proc_set(0, PROC_USE_MSR_BITMAPS); }
static void s_io_bitmap(struct vmx_vcpu* v) {
  vmx_io_intercept(v->io_bitmap_a, v->io_bitmap_b, 0x80, true);
  vmx_io_intercept(v->io_bitmap_a, v->io_bitmap_b, 0x1234, true);
}
static void s_uncond_io(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_UNCOND_IO_EXITING, PROC_USE_IO_BITMAPS);
}
static void s_cr0_mask_ts(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_CR0_GUEST_HOST_MASK, CR0_TS);
  vmx_write(VMCS_CR0_READ_SHADOW, vmx_read(VMCS_GUEST_CR0) & ~(uint64_t)CR0_TS);
}
static void s_cr0_shadow_ts(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_CR0_GUEST_HOST_MASK, CR0_TS);
  vmx_write(VMCS_CR0_READ_SHADOW, vmx_read(VMCS_GUEST_CR0) | CR0_TS);
}
static void s_cr0_mask_mp(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_CR0_GUEST_HOST_MASK, CR0_MP);
  vmx_write(VMCS_CR0_READ_SHADOW, vmx_read(VMCS_GUEST_CR0) | CR0_MP);
}
static void s_cr4_mask(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_CR4_GUEST_HOST_MASK, CR4_TSD | CR4_VMXE);
  vmx_write(VMCS_CR4_READ_SHADOW, vmx_read(VMCS_GUEST_CR4) & ~(uint64_t)(CR4_TSD | CR4_VMXE));
}
static void s_cr3_target(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_CR3_LOAD_EXITING, 0);
  vmx_write(VMCS_CR3_TARGET_COUNT, 1);
  vmx_write(VMCS_CR3_TARGET0, vmx_read(VMCS_GUEST_CR3));
}
static void s_cr3_load(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_CR3_LOAD_EXITING, 0);
  vmx_write(VMCS_CR3_TARGET_COUNT, 0);
}
static void s_cr3_store(struct vmx_vcpu* v) { (void)v; proc_set(PROC_CR3_STORE_EXITING, 0); }
static void s_cr8_load(struct vmx_vcpu* v) { (void)v; proc_set(PROC_CR8_LOAD_EXITING, 0); }
static void s_cr8_store(struct vmx_vcpu* v) { (void)v; proc_set(PROC_CR8_STORE_EXITING, 0); }
static void s_mov_dr(struct vmx_vcpu* v) { (void)v; proc_set(PROC_MOV_DR_EXITING, 0); }
static void s_invlpg(struct vmx_vcpu* v) { (void)v; proc_set(PROC_INVLPG_EXITING, 0); }
static void s_rdpmc(struct vmx_vcpu* v) { (void)v; proc_set(PROC_RDPMC_EXITING, 0); }
static void s_monitor(struct vmx_vcpu* v) { (void)v; proc_set(PROC_MONITOR_EXITING, 0); }
static void s_mwait(struct vmx_vcpu* v) { (void)v; proc_set(PROC_MWAIT_EXITING, 0); }
static void s_pause(struct vmx_vcpu* v) { (void)v; proc_set(PROC_PAUSE_EXITING, 0); }
static void s_wbinvd(struct vmx_vcpu* v) { (void)v; proc2_set(PROC2_WBINVD_EXITING); }
static void s_rdrand(struct vmx_vcpu* v) { (void)v; proc2_set(PROC2_RDRAND_EXITING); }
static void s_rdseed(struct vmx_vcpu* v) { (void)v; proc2_set(PROC2_RDSEED_EXITING); }
static void s_osxsave(struct vmx_vcpu* v) {
  (void)v;
  vmx_set_bits(VMCS_GUEST_CR4, CR4_OSXSAVE, 0);
}
static void s_ud(struct vmx_vcpu* v) { (void)v; vmx_write(VMCS_EXCEPTION_BITMAP, 1u << 6); }
// #PF and the error-code mask/match (25.6.3): with PFEC & MASK == MATCH, bit 14 of the
// exception bitmap decides; otherwise its opposite does. The fault here has PFEC = 0.
static void s_pf_all(struct vmx_vcpu* v) { (void)v; vmx_write(VMCS_EXCEPTION_BITMAP, 1u << 14); }
static void s_pf_nomatch(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_EXCEPTION_BITMAP, 1u << 14);
  vmx_write(VMCS_PF_ERROR_MASK, RT_PF_P);
  vmx_write(VMCS_PF_ERROR_MATCH, RT_PF_P);
}
static void s_pf_reversed(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_EXCEPTION_BITMAP, 0);
  vmx_write(VMCS_PF_ERROR_MASK, RT_PF_P);
  vmx_write(VMCS_PF_ERROR_MATCH, RT_PF_P);
}
static void s_pf_none(struct vmx_vcpu* v) { (void)v; vmx_write(VMCS_EXCEPTION_BITMAP, 0); }
static void s_desc(struct vmx_vcpu* v) { (void)v; proc2_set(PROC2_DESC_TABLE_EXITING); }
static void s_invpcid(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_INVLPG_EXITING, 0);
  proc2_set(PROC2_INVPCID);
}
static void s_desc_lgdt(struct vmx_vcpu* v) {
  (void)v;
  proc2_set(PROC2_DESC_TABLE_EXITING);
  __asm__ volatile("sgdt %0" : "=m"(*(char(*)[10])(guest_buf + 0x100)));  // a valid image
}
static void s_mtf(struct vmx_vcpu* v) { (void)v; proc_set(PROC_MTF, 0); }
static void s_intr_window(struct vmx_vcpu* v) {
  (void)v;
  proc_set(PROC_INTR_WINDOW, 0);
  vmx_write(VMCS_GUEST_RFLAGS, 0x202);  // IF = 1: the window is open at once
}
static void s_preempt0(struct vmx_vcpu* v) {
  (void)v;
  vmx_set_bits(VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER, 0);
  vmx_write(VMCS_PREEMPTION_TIMER_VALUE, 0);
}
static void s_triple(struct vmx_vcpu* v) {
  (void)v;
  vmx_write(VMCS_GUEST_IDTR_LIMIT, 0);  // #UD -> #GP -> #DF -> triple fault
}

// ---- extra checks -----------------------------------------------------------------------
static void c_cpuid(struct vmx_vcpu* v) {
  CHECK_EQ(v->regs.rax, 0, "CPUID exit: guest RAX is the leaf");
  v->regs.rax = 0xC0FFEE;  // what the guest must see after the resume
}
static void d_cpuid(struct vmx_vcpu* v) { CHECK_EQ(v->regs.r15, 0xC0FFEE, "CPUID result given by the host"); }
static void d_tsc_offset(struct vmx_vcpu* v) {
  t1 = rdtsc();
  uint64_t g = v->regs.r15;
  CHECK(g >= t0 + kTscOffset && g <= t1 + kTscOffset,
        "TSC offsetting: guest %lx outside host [%lx, %lx] + offset", g, t0, t1);
}
static void d_rdmsr_pass(struct vmx_vcpu* v) {
  CHECK_EQ(v->regs.r15, 0, "RDMSR not intercepted: guest IA32_SYSENTER_EIP (loaded 0)");
}
static void c_rdmsr_low(struct vmx_vcpu* v) { CHECK_EQ(v->regs.rcx, 0x174, "RDMSR exit: RCX"); }
static void c_wrmsr_low(struct vmx_vcpu* v) {
  CHECK_EQ(v->regs.rcx, 0x175, "WRMSR exit: RCX");
  CHECK_EQ(v->regs.rax, 0x1234, "WRMSR exit: RAX");
}
static void c_outsb(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(vmx_read(VMCS_GUEST_LINEAR_ADDR), (uint64_t)guest_buf, "OUTS exit: guest-linear address");
}
static void d_cr0_read(struct vmx_vcpu* v) {
  CHECK(v->regs.r15 & CR0_TS, "MOV from CR0 reads TS from the read shadow");
  CHECK(!(vmx_read(VMCS_GUEST_CR0) & CR0_TS), "guest CR0.TS itself still 0");
}
static void c_lmsw(struct vmx_vcpu* v) {
  uint64_t q = vmx_read(VMCS_EXIT_QUALIFICATION);
  CHECK_EQ(q, 0x30 | ((v->regs.rax & 0xFFFF) << 16), "LMSW exit qualification (type 3, source data)");
}
static void d_cr4_read(struct vmx_vcpu* v) {
  CHECK(!(v->regs.r15 & CR4_VMXE), "MOV from CR4 reads VMXE from the read shadow (0)");
}
static void c_cr3_write(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(vmx_read(VMCS_GUEST_CR3), rt_read_cr3(), "CR3 exit: guest CR3 not yet written");
}
static void c_cr3_read(struct vmx_vcpu* v) { v->regs.rax = 0xABC000; }
static void d_cr3_read(struct vmx_vcpu* v) { CHECK_EQ(v->regs.r15, 0xABC000, "MOV from CR3: value given by the host"); }
static void c_ud(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | 6,
           "#UD exit: interruption information");
}
static void c_pf(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO),
           INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_HW_EXCEPTION | 14,
           "#PF exit: interruption information");
  CHECK_EQ(vmx_read(VMCS_EXIT_INTR_ERROR), 0, "#PF exit: error code");
}
static void d_pf_delivered(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(guest_pf_count, 1, "#PF delivered to the guest (no exit)");
}
static void c_insb(struct vmx_vcpu* v) {
  (void)v;
  CHECK_EQ(vmx_read(VMCS_GUEST_LINEAR_ADDR), (uint64_t)guest_buf, "INS exit: guest-linear address");
}
static void c_lmsw_mem(struct vmx_vcpu* v) {
  uint64_t q = vmx_read(VMCS_EXIT_QUALIFICATION);
  uint64_t data = *(uint16_t*)(guest_buf + 0x40);
  CHECK_EQ(q, 0x30 | (1u << 6) | (data << 16), "LMSW m16 exit qualification (type 3, memory, data)");
  CHECK_EQ(vmx_read(VMCS_GUEST_LINEAR_ADDR), v->regs.rax, "LMSW m16: guest-linear address");
}
static void d_cr0_am(struct vmx_vcpu* v) {
  (void)v;
  CHECK((vmx_read(VMCS_GUEST_CR0) ^ rt_read_cr0()) & CR0_AM, "unmasked CR0.AM written by the guest");
}
static void c_mtf(struct vmx_vcpu* v) { (void)v; proc_set(0, PROC_MTF); }
static void c_intr_window(struct vmx_vcpu* v) {
  (void)v;
  proc_set(0, PROC_INTR_WINDOW);
  vmx_write(VMCS_GUEST_RFLAGS, 0x2);
}
static void c_preempt(struct vmx_vcpu* v) {
  (void)v;
  vmx_set_bits(VMCS_PIN_CONTROLS, 0, PIN_PREEMPTION_TIMER);
}

// Instruction-information layouts (SDM Vol. 3C 28.2.5, Tables 28-9 to 28-14).
#define II_REG1(r) ((uint32_t)(r) << 3)
#define II_ADDR64 (2u << 7)
#define II_REGFORM (1u << 10)
#define II_SEG(s) ((uint32_t)(s) << 15)
#define II_NO_INDEX (1u << 22)
#define II_BASE(r) ((uint32_t)(r) << 23)
#define II_REG2(r) ((uint32_t)(r) << 28)
#define II_MEM_MASK ((7u << 7) | II_REGFORM | (7u << 15) | II_NO_INDEX | (0xFu << 23) | (1u << 27))
#define II_MEM_RAX (II_ADDR64 | II_SEG(SEG_DS) | II_NO_INDEX | II_BASE(0))
#define II_REGS_MASK ((0xFu << 3) | II_REGFORM | (0xFu << 28))
// CR-access qualification (Table 28-3): CR number, access type (0 to, 1 from, 2 CLTS,
// 3 LMSW), register.
#define CRQ(cr, type, reg) ((uint64_t)(cr) | ((uint64_t)(type) << 4) | ((uint64_t)(reg) << 8))
// I/O qualification (Table 28-5): size - 1, IN, string, REP, immediate, port.
#define IOQ(size, in, str, rep, imm, port)                                                 \
  ((uint64_t)((size) - 1) | ((uint64_t)(in) << 3) | ((uint64_t)(str) << 4) |               \
   ((uint64_t)(rep) << 5) | ((uint64_t)(imm) << 6) | ((uint64_t)(port) << 16))

#define AT(x) g_##x, i_##x, a_##x
#define QUAL(q) true, (q)
#define NOQ false, 0

static const struct exit_case kCases[] = {
    {"cpuid", "26.1.2", 0, s_none, AT(cpuid), EXIT_REASON_CPUID, 0, QUAL(0), 0, 0, c_cpuid, d_cpuid, false},
    {"hlt", "25.6.2", has_hlt_exiting, s_hlt, AT(hlt), EXIT_REASON_HLT, 0, QUAL(0), 0, 0, 0, 0, false},
    {"rdtsc", "25.6.2", has_rdtsc_exiting, s_rdtsc, AT(rdtsc), EXIT_REASON_RDTSC, 0, QUAL(0), 0, 0, 0, 0, false},
    {"tsc_offsetting", "25.6.5", has_tsc_offsetting, s_tsc_offset, AT(tsc_offset), NO_EXIT, 0, NOQ, 0, 0, 0, d_tsc_offset, false},
    {"rdtscp", "25.6.2", has_rdtscp, s_rdtscp, AT(rdtscp), EXIT_REASON_RDTSCP, 0, QUAL(0), 0, 0, 0, 0, false},
    {"rdmsr_bitmap_low", "25.6.9", has_msr_bitmaps, s_msr_bitmap, AT(rdmsr_low), EXIT_REASON_RDMSR, 0, QUAL(0), 0, 0, c_rdmsr_low, 0, false},
    {"rdmsr_bitmap_pass", "25.6.9", has_msr_bitmaps, s_msr_bitmap, AT(rdmsr_pass), NO_EXIT, 0, NOQ, 0, 0, 0, d_rdmsr_pass, false},
    {"wrmsr_bitmap_low", "25.6.9", has_msr_bitmaps, s_msr_bitmap, AT(wrmsr_low), EXIT_REASON_WRMSR, 0, QUAL(0), 0, 0, c_wrmsr_low, 0, false},
    {"rdmsr_bitmap_high", "25.6.9", has_msr_bitmaps, s_msr_bitmap, AT(rdmsr_high), EXIT_REASON_RDMSR, 0, QUAL(0), 0, 0, 0, 0, false},
    {"rdmsr_outside_ranges", "26.1.3", has_msr_bitmaps, s_msr_bitmap, AT(rdmsr_outside), EXIT_REASON_RDMSR, 0, QUAL(0), 0, 0, 0, 0, false},
    {"rdmsr_no_bitmaps", "26.1.3", can_clear_msr_bitmaps, s_no_msr_bitmap, AT(rdmsr_pass), EXIT_REASON_RDMSR, 0, QUAL(0), 0, 0, 0, 0, false},
    {"out_imm_bitmap", "25.6.4", has_io_bitmaps, s_io_bitmap, AT(out_imm), EXIT_REASON_IO, 0, QUAL(IOQ(1, 0, 0, 0, 1, 0x80)), 0, 0, 0, 0, false},
    {"in_dx_bitmap", "25.6.4", has_io_bitmaps, s_io_bitmap, AT(in_dx), EXIT_REASON_IO, 0, QUAL(IOQ(4, 1, 0, 0, 0, 0x1234)), 0, 0, 0, 0, false},
    {"out_bitmap_pass", "25.6.4", has_io_bitmaps, s_none, AT(out_pass), NO_EXIT, 0, NOQ, 0, 0, 0, 0, false},
    {"rep_outsb_bitmap", "28.2.5", has_io_bitmaps, s_io_bitmap, AT(outsb), EXIT_REASON_IO, 0, QUAL(IOQ(1, 0, 1, 1, 0, 0x80)), 0, 0, c_outsb, 0, false},
    {"out_unconditional", "25.6.2", has_uncond_io, s_uncond_io, AT(out_pass), EXIT_REASON_IO, 0, QUAL(IOQ(1, 0, 0, 0, 1, 0x80)), 0, 0, 0, 0, false},
    {"mov_to_cr0_masked", "25.6.6", 0, s_cr0_mask_ts, AT(cr0_write), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(0, 0, 3)), 0, 0, 0, 0, false},
    {"mov_from_cr0_shadow", "25.6.6", 0, s_cr0_shadow_ts, AT(cr0_read), NO_EXIT, 0, NOQ, 0, 0, 0, d_cr0_read, false},
    {"clts_masked", "25.6.6", 0, s_cr0_shadow_ts, AT(clts), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(0, 2, 0)), 0, 0, 0, 0, false},
    {"clts_unmasked_shadow", "25.6.6", 0, s_cr0_mask_ts, AT(clts), NO_EXIT, 0, NOQ, 0, 0, 0, 0, false},
    {"lmsw_masked", "25.6.6", 0, s_cr0_mask_mp, AT(lmsw), EXIT_REASON_CR_ACCESS, 0, NOQ, 0, 0, c_lmsw, 0, false},
    {"mov_to_cr4_masked", "25.6.6", 0, s_cr4_mask, AT(cr4_write), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(4, 0, 3)), 0, 0, 0, 0, false},
    {"mov_from_cr4_shadow", "25.6.6", 0, s_cr4_mask, AT(cr4_read), NO_EXIT, 0, NOQ, 0, 0, 0, d_cr4_read, false},
    {"mov_to_cr3_target", "25.6.7", has_cr3_exiting, s_cr3_target, AT(cr3_write), NO_EXIT, 0, NOQ, 0, 0, 0, 0, false},
    {"mov_to_cr3_exiting", "25.6.7", has_cr3_exiting, s_cr3_load, AT(cr3_write), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(3, 0, 0)), 0, 0, c_cr3_write, 0, false},
    {"mov_from_cr3_exiting", "25.6.2", has_cr3_store, s_cr3_store, AT(cr3_read), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(3, 1, 0)), 0, 0, c_cr3_read, d_cr3_read, false},
    {"mov_to_cr8_exiting", "25.6.2", has_cr8_load, s_cr8_load, AT(cr8_write), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(8, 0, 0)), 0, 0, 0, 0, false},
    {"mov_from_cr8_exiting", "25.6.2", has_cr8_store, s_cr8_store, AT(cr8_read), EXIT_REASON_CR_ACCESS, 0, QUAL(CRQ(8, 1, 3)), 0, 0, 0, 0, false},
    {"mov_to_dr7_exiting", "25.6.2", has_mov_dr, s_mov_dr, AT(dr7_write), EXIT_REASON_DR_ACCESS, 0, QUAL(7 | (0u << 4) | (0u << 8)), 0, 0, 0, 0, false},
    {"rep_insb_bitmap", "28.2.5", has_io_bitmaps, s_io_bitmap, AT(insb), EXIT_REASON_IO, 0, QUAL(IOQ(1, 1, 1, 1, 0, 0x80)), 0, 0, c_insb, 0, false},
    {"out_dx_word_bitmap", "25.6.4", has_io_bitmaps, s_io_bitmap, AT(out_dx_word), EXIT_REASON_IO, 0, QUAL(IOQ(2, 0, 0, 0, 0, 0x1234)), 0, 0, 0, 0, false},
    {"lmsw_memory_masked", "25.6.6", 0, s_cr0_mask_mp, AT(lmsw_mem), EXIT_REASON_CR_ACCESS, 0, NOQ, 0, 0, c_lmsw_mem, 0, false},
    {"mov_to_cr0_unmasked_bit", "25.6.6", 0, s_cr0_mask_ts, AT(cr0_am), NO_EXIT, 0, NOQ, 0, 0, 0, d_cr0_am, false},
    {"invpcid", "25.6.2", has_invpcid, s_invpcid, AT(invpcid), EXIT_REASON_INVPCID, 0, QUAL(0), II_MEM_MASK | (0xFu << 28), II_MEM_RAX | II_REG2(3), 0, 0, false},
    {"mov_from_dr_exiting", "25.6.2", has_mov_dr, s_mov_dr, AT(dr_read), EXIT_REASON_DR_ACCESS, 0, QUAL(0 | (1u << 4) | (3u << 8)), 0, 0, 0, 0, false},
    {"invlpg", "25.6.2", has_invlpg, s_invlpg, AT(invlpg), EXIT_REASON_INVLPG, 0, QUAL(0x123000), 0, 0, 0, 0, false},
    {"rdpmc", "25.6.2", has_rdpmc, s_rdpmc, AT(rdpmc), EXIT_REASON_RDPMC, 0, QUAL(0), 0, 0, 0, 0, false},
    {"monitor", "25.6.2", has_monitor, s_monitor, AT(monitor), EXIT_REASON_MONITOR, 0, QUAL(0), 0, 0, 0, 0, false},
    {"mwait", "25.6.2", has_mwait, s_mwait, AT(mwait), EXIT_REASON_MWAIT, 0, NOQ, 0, 0, 0, 0, false},
    {"pause", "25.6.2", has_pause, s_pause, AT(pause), EXIT_REASON_PAUSE, 0, QUAL(0), 0, 0, 0, 0, false},
    {"wbinvd", "25.6.2", has_wbinvd, s_wbinvd, AT(wbinvd), EXIT_REASON_WBINVD, 0, QUAL(0), 0, 0, 0, 0, false},
    {"invd", "26.1.2", 0, s_none, AT(invd), EXIT_REASON_INVD, 0, QUAL(0), 0, 0, 0, 0, false},
    {"rdrand", "25.6.2", has_rdrand, s_rdrand, AT(rdrand), EXIT_REASON_RDRAND, 0, QUAL(0), (0xFu << 3) | (3u << 11), II_REG1(0) | (1u << 11), 0, 0, false},
    {"rdseed", "25.6.2", has_rdseed, s_rdseed, AT(rdseed), EXIT_REASON_RDSEED, 0, QUAL(0), (0xFu << 3) | (3u << 11), II_REG1(3) | (2u << 11), 0, 0, false},
    {"xsetbv", "26.1.2", has_xsave, s_osxsave, AT(xsetbv), EXIT_REASON_XSETBV, 0, QUAL(0), 0, 0, 0, 0, false},
    {"vmcall", "26.1.2", 0, s_none, AT(vmcall), EXIT_REASON_VMCALL, 0, QUAL(0), 0, 0, 0, 0, false},
    {"vmxon", "26.1.2", 0, s_none, AT(vmxon), EXIT_REASON_VMXON, 0, QUAL(0), II_MEM_MASK, II_MEM_RAX, 0, 0, false},
    {"vmclear", "26.1.2", 0, s_none, AT(vmclear), EXIT_REASON_VMCLEAR, 0, QUAL(16), II_MEM_MASK, II_MEM_RAX, 0, 0, false},
    {"vmptrld", "26.1.2", 0, s_none, AT(vmptrld), EXIT_REASON_VMPTRLD, 0, QUAL(0), II_MEM_MASK, II_MEM_RAX, 0, 0, false},
    {"vmptrst", "26.1.2", 0, s_none, AT(vmptrst), EXIT_REASON_VMPTRST, 0, QUAL(0x20), II_MEM_MASK, II_MEM_RAX, 0, 0, false},
    {"vmread", "26.1.2", 0, s_none, AT(vmread), EXIT_REASON_VMREAD, 0, QUAL(0), II_REGS_MASK, II_REG1(3) | II_REGFORM | II_REG2(0), 0, 0, false},
    {"vmwrite", "26.1.2", 0, s_none, AT(vmwrite), EXIT_REASON_VMWRITE, 0, QUAL(0), II_REGS_MASK, II_REG1(3) | II_REGFORM | II_REG2(0), 0, 0, false},
    {"vmlaunch", "26.1.2", 0, s_none, AT(vmlaunch), EXIT_REASON_VMLAUNCH, 0, QUAL(0), 0, 0, 0, 0, false},
    {"vmresume", "26.1.2", 0, s_none, AT(vmresume), EXIT_REASON_VMRESUME, 0, QUAL(0), 0, 0, 0, 0, false},
    {"vmxoff", "26.1.2", 0, s_none, AT(vmxoff), EXIT_REASON_VMXOFF, 0, QUAL(0), 0, 0, 0, 0, false},
    {"invept", "26.1.2", has_invept, s_none, AT(invept), EXIT_REASON_INVEPT, 0, QUAL(0), II_MEM_MASK | (0xFu << 28), II_MEM_RAX | II_REG2(3), 0, 0, false},
    {"invvpid", "26.1.2", has_invvpid, s_none, AT(invvpid), EXIT_REASON_INVVPID, 0, QUAL(0), II_MEM_MASK | (0xFu << 28), II_MEM_RAX | II_REG2(3), 0, 0, false},
    {"sgdt", "25.6.2", has_desc_exiting, s_desc, AT(sgdt), EXIT_REASON_GDTR_IDTR, 0, QUAL(8), (II_MEM_MASK & ~II_REGFORM) | (3u << 28), II_MEM_RAX | (0u << 28), 0, 0, false},
    {"sidt", "25.6.2", has_desc_exiting, s_desc, AT(sidt), EXIT_REASON_GDTR_IDTR, 0, QUAL(0), (II_MEM_MASK & ~II_REGFORM) | (3u << 28), II_MEM_RAX | (1u << 28), 0, 0, false},
    {"lgdt", "25.6.2", has_desc_exiting, s_desc_lgdt, AT(lgdt), EXIT_REASON_GDTR_IDTR, 0, QUAL(0x100), (II_MEM_MASK & ~II_REGFORM) | (3u << 28), II_MEM_RAX | (2u << 28), 0, 0, false},
    {"sldt", "25.6.2", has_desc_exiting, s_desc, AT(sldt), EXIT_REASON_LDTR_TR, 0, QUAL(0), (0xFu << 3) | II_REGFORM | (3u << 28), II_REG1(0) | II_REGFORM | (0u << 28), 0, 0, false},
    {"ltr", "25.6.2", has_desc_exiting, s_desc, AT(ltr), EXIT_REASON_LDTR_TR, 0, QUAL(0), (0xFu << 3) | II_REGFORM | (3u << 28), II_REG1(0) | II_REGFORM | (3u << 28), 0, 0, false},
    {"str", "25.6.2", has_desc_exiting, s_desc, AT(str), EXIT_REASON_LDTR_TR, 0, QUAL(0), (0xFu << 3) | II_REGFORM | (3u << 28), II_REG1(0) | II_REGFORM | (1u << 28), 0, 0, false},
    {"exception_ud", "25.6.3", 0, s_ud, AT(ud2), EXIT_REASON_EXCEPTION_NMI, ANY_LEN, QUAL(0), 0, 0, c_ud, 0, false},
    {"exception_pf_all", "25.6.3", 0, s_pf_all, AT(pf), EXIT_REASON_EXCEPTION_NMI, ANY_LEN, QUAL(0x8000000000ull), 0, 0, c_pf, 0, false},
    {"exception_pf_reversed", "25.6.3", 0, s_pf_reversed, AT(pf), EXIT_REASON_EXCEPTION_NMI, ANY_LEN, QUAL(0x8000000000ull), 0, 0, c_pf, 0, false},
    {"exception_pf_nomatch", "25.6.3", 0, s_pf_nomatch, AT(pf), NO_EXIT, 0, NOQ, 0, 0, 0, d_pf_delivered, false},
    {"exception_pf_not_in_bitmap", "25.6.3", 0, s_pf_none, AT(pf), NO_EXIT, 0, NOQ, 0, 0, 0, d_pf_delivered, false},
    {"monitor_trap_flag", "25.5.2", has_mtf, s_mtf, g_mtf, a_mtf, 0, EXIT_REASON_MTF, ANY_LEN, QUAL(0), 0, 0, c_mtf, 0, false},
    {"interrupt_window", "25.6.2", has_intr_window, s_intr_window, g_nop, g_nop, 0, EXIT_REASON_INTERRUPT_WINDOW, ANY_LEN, QUAL(0), 0, 0, c_intr_window, 0, false},
    {"preemption_timer_zero", "26.7.4", has_preemption_timer, s_preempt0, g_nop, g_nop, 0, EXIT_REASON_PREEMPTION_TIMER, ANY_LEN, QUAL(0), 0, 0, c_preempt, 0, false},
    {"triple_fault", "28.1", 0, s_triple, g_ud2, i_ud2, 0, EXIT_REASON_TRIPLE_FAULT, ANY_LEN, QUAL(0), 0, 0, 0, 0, true},
};

// The guest's #PF handler for the cases where the fault is delivered to it: counts and
// continues at a_pf (the handler runs in the guest, on the shared IDT).
static void guest_pf_handler(struct rt_frame* f) {
  guest_pf_count++;
  f->rip = (uint64_t)a_pf;
}

// An exception the guest should not have taken (an exit that did not happen) ends the
// guest with VMCALL(VMX_HC_SYNC, GUEST_FAULT | vector) instead of the runtime's report:
// the case fails and the run goes on.
#define GUEST_FAULT 0xFA000000u
void guest_fault_exit(void);
__asm__(".pushsection .text\n"
        "guest_fault_exit: vmcall\n  ud2\n"
        ".popsection\n");
static void guest_fault_handler(struct rt_frame* f) {
  f->rbx = GUEST_FAULT | f->vector;
  f->rax = VMX_HC_SYNC;
  f->rip = (uint64_t)guest_fault_exit;
}
static void guest_handlers(bool on) {
  for (unsigned vec = 0; vec < 32; vec++)
    if (vec != 2 && vec != 14) rt_set_handler(vec, on ? guest_fault_handler : 0);
  rt_set_handler(14, on ? guest_pf_handler : 0);
}

// Runs the guest; a fault it took is reported and returned as GUEST_FAULT (no exit
// reason has that value).
static uint32_t run_guest(struct vmx_vcpu* v, const char* name) {
  guest_handlers(true);
  uint32_t r = vmx_vcpu_run(v);
  guest_handlers(false);
  if (r == EXIT_REASON_VMCALL && v->regs.rax == VMX_HC_SYNC && (v->regs.rbx >> 24) == 0xFA) {
    rt_printf("%s: the guest took exception %lu at %lx instead of exiting\n", name,
              v->regs.rbx & 0xFF, vmx_read(VMCS_GUEST_RIP));
    return GUEST_FAULT;
  }
  return r;
}

static const char* exit_name(uint32_t r) {
  return r == GUEST_FAULT ? "none: the guest took an exception" : vmx_exit_name(r);
}

static unsigned run_case(struct vmx_vcpu* v, const struct exit_case* c) {
  unsigned fails_before = vmx_test_failures;
  vmx_vcpu_init_on(v, v->vmcs, (void (*)(void))c->guest);
  // An exception the guest should not see goes to guest_fault_handler (the guest shares
  // the runtime's IDT), or, for the #PF cases, to guest_pf_handler.
  c->setup(v);
  guest_pf_count = 0;
  uint32_t r = run_guest(v, c->name);
  if (c->reason == NO_EXIT) {
    CHECK(r == EXIT_REASON_VMCALL && v->regs.rax == VMX_HC_DONE,
          "%s: expected no exit, got %u (%s) at %lx", c->name, r, exit_name(r),
          r >= VMX_RUN_FAIL_INVALID ? 0 : vmx_read(VMCS_GUEST_RIP));
  } else {
    CHECK(r == (uint32_t)c->reason, "%s: exit %u (%s), expected %d (%s)", c->name, r,
          exit_name(r), c->reason, vmx_exit_name((uint32_t)c->reason));
    if (r != (uint32_t)c->reason) return 1;
    uint64_t rip = vmx_read(VMCS_GUEST_RIP);
    CHECK(rip == (uint64_t)c->rip, "%s: guest RIP %lx, expected %p", c->name, rip, c->rip);
    if (c->len != ANY_LEN) {
      uint64_t want = c->len ? (uint64_t)c->len : (uint64_t)(c->resume - c->rip);
      CHECK_EQ(vmx_read(VMCS_EXIT_INSN_LEN), want, c->name);
    }
    if (c->check_qual) CHECK_EQ(vmx_read(VMCS_EXIT_QUALIFICATION), c->qual, c->name);
    if (c->info_mask) {
      uint32_t info = (uint32_t)vmx_read(VMCS_EXIT_INSN_INFO);
      CHECK((info & c->info_mask) == c->info, "%s: instruction information %x (mask %x), expected %x",
            c->name, info & c->info_mask, c->info_mask, c->info);
    }
    if (c->check) c->check(v);
    if (c->no_resume) return vmx_test_failures != fails_before;
    if (c->resume) vmx_write(VMCS_GUEST_RIP, (uint64_t)c->resume);
    r = run_guest(v, c->name);
    CHECK(r == EXIT_REASON_VMCALL && v->regs.rax == VMX_HC_DONE,
          "%s: after the resume, exit %u (%s) at %lx instead of the guest's end", c->name, r,
          exit_name(r), r >= VMX_RUN_FAIL_INVALID ? 0 : vmx_read(VMCS_GUEST_RIP));
  }
  if (c->check_done) c->check_done(v);
  return vmx_test_failures != fails_before;
}

int main(void) {
  vmx_enable();
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, (void (*)(void))g_nop);
  unsigned n = sizeof kCases / sizeof kCases[0], ran = 0, skipped = 0;
  for (unsigned i = 0; i < n; i++) {
    const struct exit_case* c = &kCases[i];
    if (c->supported && !c->supported()) {
      rt_printf("vmx_exits: %-28s skipped (the CPU lacks the feature)\n", c->name);
      rt_report("vmx_exits.skip", "%s", c->name);
      skipped++;
      continue;
    }
    unsigned bad = run_case(&v, c);
    ran++;
    rt_printf("vmx_exits: %-28s %s (SDM %s)\n", c->name, bad ? "FAIL" : "pass", c->sdm);
    rt_report("exit_case", "%s=%s", c->name, bad ? "fail" : "pass");
  }
  rt_printf("vmx_exits: %u cases run, %u skipped\n", ran, skipped);
  return vmx_test_finish("vmx_exits");
}
