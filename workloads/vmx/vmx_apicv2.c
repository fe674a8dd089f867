// Virtual-interrupt delivery in depth (SDM Vol. 3C 29.1-29.5): recognition and
// delivery of virtual interrupts (VPPR priority classes, RFLAGS.IF, the STI shadow,
// HLT, interrupt-window exiting), PPR virtualization at entry and after MOV CR8, nested
// in-service vectors (SVI, VISR), EOI virtualization through x2APIC MSR 80BH and the
// APIC-access page with EOI-induced exits, self-IPI virtualization through ICR low and
// MSR 83FH, x2APIC MSR reads with APIC-register virtualization, and the exact RIP of
// the trap-like exits that follow a write (APIC write, TPR below threshold, EOI).
// The local APIC itself is never touched: the virtual-APIC and APIC-access pages are
// ordinary RAM.
#include "vmx_test.h"

static uint8_t* vapic;
uint8_t* access_page;  // also used by the assembly guests
static uint32_t vreg(unsigned off) { return *(volatile uint32_t*)(vapic + off); }
static void set_vreg(unsigned off, uint32_t v) { *(volatile uint32_t*)(vapic + off) = v; }
static void set_vbit(unsigned base, unsigned vec) { set_vreg(base + (vec / 32) * 16, vreg(base + (vec / 32) * 16) | 1u << (vec % 32)); }
static bool vbit(unsigned base, unsigned vec) { return vreg(base + (vec / 32) * 16) >> (vec % 32) & 1; }
static bool vbits_clear(unsigned base) {
  for (unsigned r = 0; r < 8; r++)
    if (vreg(base + r * 16)) return false;
  return true;
}
enum { VISR = 0x100, VIRR = 0x200 };

// ---- the guest's interrupt handler --------------------------------------------------------
// Logs each virtual interrupt (vector, VPPR and VISR as the handler saw them), then
// EOIs through the x2APIC EOI MSR (or the APIC-access page with eoi_xapic). The 50H
// handler of the nesting test sends itself 70H with interrupts on (nested) and 40H
// (a lower class: it waits for the EOI).
#define LOG_MAX 8
volatile unsigned nlog;  // also used by the assembly guests
static volatile unsigned log_vec[LOG_MAX], log_vppr[LOG_MAX], log_isr50[LOG_MAX], log_isr70[LOG_MAX];
static volatile uint64_t log_rip[LOG_MAX];
static volatile bool nest, eoi_xapic;
static volatile unsigned vppr_after_nested, count_before_eoi, eoi_done;

// x2APIC EOI and the xAPIC one through the APIC-access page; a_eoi_xapic: right after
// the store (the RIP of a trap-like exit it causes).
void eoi_x2apic(void);
void eoi_xapic_store(volatile uint32_t* eoi_reg);
extern char a_eoi_xapic[], a_eoi_x2apic[];
__asm__(".pushsection .text\n"
        ".globl eoi_x2apic, eoi_xapic_store, a_eoi_xapic, a_eoi_x2apic\n"
        "eoi_x2apic: mov $0x80b, %ecx\n  xor %eax, %eax\n  xor %edx, %edx\n  wrmsr\n"
        "a_eoi_x2apic: ret\n"
        "eoi_xapic_store: movl $0, (%rdi)\n"
        "a_eoi_xapic: nop\n  nop\n  ret\n"
        ".popsection\n");

static void send_self_ipi(unsigned vec) { rt_wrmsr(0x83F, vec); }
static void guest_eoi(void) {
  if (eoi_xapic) eoi_xapic_store((volatile uint32_t*)(access_page + 0xB0));
  else eoi_x2apic();
}
static void vint_handler(struct rt_frame* f) {
  const unsigned i = nlog < LOG_MAX ? nlog : LOG_MAX - 1;
  log_vec[i] = (unsigned)f->vector;
  log_vppr[i] = vreg(0xA0);
  log_isr50[i] = vbit(VISR, 0x50);
  log_isr70[i] = vbit(VISR, 0x70);
  log_rip[i] = f->rip;
  nlog = nlog + 1;
  if (nest && f->vector == 0x50) {
    __asm__ volatile("sti" ::: "memory");
    send_self_ipi(0x70);  // higher class: delivered at once, nested
    vppr_after_nested = vreg(0xA0);
    send_self_ipi(0x40);  // lower class than SVI: waits
    count_before_eoi = nlog;
    eoi_done = 1;
  }
  guest_eoi();
}
static volatile unsigned guest_gps;
static void guest_gp_skip(struct rt_frame* f) {
  guest_gps++;
  f->rip += 2;  // RDMSR/WRMSR
}

// ---- guests ---------------------------------------------------------------------------
static void guest_idle(void) {
  for (int i = 0; i < 50; i++) __asm__ volatile("pause");
  vmx_guest_sync(nlog);
}
// MOV CR8 lowering VTPR below RVI's class: the interrupt comes right after the MOV.
static void guest_tpr_lower(void) {
  const unsigned before = nlog;
  __asm__ volatile("mov %0, %%cr8" : : "r"(2ull) : "memory");
  const unsigned after = nlog;
  vmx_guest_sync(before | after << 8);
}
// With RFLAGS.IF = 0 a self-IPI waits; STI's shadow covers HLT, so the interrupt is
// delivered in the HLT state and wakes it: the handler sees the RIP after HLT.
void guest_sti_hlt(void);
extern char a_after_hlt[];
volatile unsigned count_with_if0;
void guest_sti_hlt_body(void) { vmx_guest_sync(count_with_if0 | nlog << 8); }
__asm__(".pushsection .text\n"
        ".globl guest_sti_hlt, a_after_hlt\n"
        "guest_sti_hlt: cli\n"
        "  mov $0x83f, %ecx\n  mov $0x60, %eax\n  xor %edx, %edx\n  wrmsr\n"
        "  pause\n  pause\n"
        "  mov nlog(%rip), %eax\n  mov %eax, count_with_if0(%rip)\n"
        "  sti\n  hlt\n"
        "a_after_hlt: jmp guest_sti_hlt_body\n"
        ".popsection\n");
// x2APIC accesses: SELF IPI with a vector below 16 (APIC-write exit after the WRMSR),
// bad values (#GP), reads of the virtual-APIC page.
void guest_selfipi_low(void);
extern char a_after_selfipi[];
__asm__(".pushsection .text\n"
        ".globl guest_selfipi_low, a_after_selfipi\n"
        "guest_selfipi_low: mov $0x83f, %ecx\n  mov $0x5, %eax\n  xor %edx, %edx\n  wrmsr\n"
        "a_after_selfipi: nop\n  nop\n  jmp guest_idle_body\n"
        ".popsection\n");
void guest_idle_body(void) { vmx_guest_sync(nlog); }
static volatile uint64_t g_msr_value;
static volatile uint32_t g_msr;
static void guest_wrmsr(void) {
  rt_wrmsr(g_msr, g_msr_value);
  vmx_guest_sync(nlog);
}
static void guest_rdmsr(void) { vmx_guest_sync(rt_rdmsr(g_msr)); }
// Writes through the APIC-access page, each followed by more straight-line code: the
// trap-like exit must save the RIP right after the store.
void guest_store(void);
extern char a_store[], a_after_store[];
volatile uint32_t g_off, g_val;
__asm__(".pushsection .text\n"
        ".globl guest_store, a_store, a_after_store\n"
        "guest_store: mov access_page(%rip), %rdi\n  mov g_off(%rip), %eax\n  add %rax, %rdi\n"
        "  mov g_val(%rip), %eax\n"
        "a_store: mov %eax, (%rdi)\n"
        "a_after_store: add $1, %rax\n  add $1, %rax\n  add $1, %rax\n  jmp guest_idle_body\n"
        ".popsection\n");
// INT 40H with the stack at offset 100H of the APIC-access page: the delivery's pushes.
void guest_int_on_apic_stack(void);
__asm__(".pushsection .text\n"
        ".globl guest_int_on_apic_stack\n"
        "guest_int_on_apic_stack: mov access_page(%rip), %rsp\n  add $0x100, %rsp\n"
        "  int $0x40\n  jmp guest_idle_body\n"
        ".popsection\n");
// An 8-byte store and an 8-byte load at g_off (wider than a register's low 32 bits).
void guest_store64(void);
void guest_load64(void);
__asm__(".pushsection .text\n"
        ".globl guest_store64, guest_load64\n"
        "guest_store64: mov access_page(%rip), %rdi\n  mov g_off(%rip), %eax\n  add %rax, %rdi\n"
        "  mov g_val(%rip), %eax\n  mov %rax, (%rdi)\n  jmp guest_idle_body\n"
        "guest_load64: mov access_page(%rip), %rdi\n  mov g_off(%rip), %eax\n  add %rax, %rdi\n"
        "  mov (%rdi), %rax\n  jmp guest_idle_body\n"
        ".popsection\n");

// ---- set-up -----------------------------------------------------------------------------
enum { X2 = PROC2_VIRT_X2APIC, VID = PROC2_VIRT_INTR_DELIVERY, REGV = PROC2_APIC_REG_VIRT,
       ACC = PROC2_VIRT_APIC_ACCESSES };
static void setup(struct vmx_vcpu* v, void (*code)(void), uint32_t proc2) {
  vmx_vcpu_init_on(v, v->vmcs, code);
  memset(vapic, 0, 4096);
  memset(access_page, 0, 4096);
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_TPR_SHADOW | PROC_SECONDARY_CONTROLS,
               PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING);
  vmx_set_bits(VMCS_PROC_CONTROLS2, proc2, 0);
  vmx_write(VMCS_VIRTUAL_APIC_ADDR, vmx_pa(vapic));
  if (proc2 & ACC) vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
  vmx_write(VMCS_TPR_THRESHOLD, 0);
  if (proc2 & VID) {
    vmx_set_bits(VMCS_PIN_CONTROLS, PIN_EXTINT_EXITING, 0);
    for (int i = 0; i < 4; i++) vmx_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i, 0);
    vmx_write(VMCS_GUEST_INTR_STATUS, 0);
  }
  vmx_write(VMCS_GUEST_RFLAGS, 0x202);
  nlog = 0;
  nest = eoi_xapic = false;
  vppr_after_nested = count_before_eoi = eoi_done = 0;
  for (unsigned vec = 0x20; vec < 0x100; vec++)
    if (vec != 0x80) rt_set_handler(vec, vint_handler);  // 80H: the runtime's
}
static void pend(unsigned vec) {  // VIRR[vec] and RVI = max(RVI, vec)
  set_vbit(VIRR, vec);
  uint64_t st = vmx_read(VMCS_GUEST_INTR_STATUS);
  if (vec > (st & 0xFF)) vmx_write(VMCS_GUEST_INTR_STATUS, (st & 0xFF00) | vec);
}
static uint64_t run_sync(struct vmx_vcpu* v, const char* what) {
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "%s: exit %u (%s) at %lx, qualification %lx", what, r,
        vmx_exit_name(r), vmx_read(VMCS_GUEST_RIP), v->exit_qual);
  return got;
}
static uint32_t run_exit(struct vmx_vcpu* v, uint32_t want, const char* what) {
  uint32_t r = vmx_vcpu_run_guest(v, 0);
  CHECK(r == want, "%s: exit %u (%s), expected %u (%s)", what, r, vmx_exit_name(r), want,
        vmx_exit_name(want));
  return r;
}

// ---- tests ------------------------------------------------------------------------------

// 29.1.3, 29.2.1 at VM entry: VPPR = VTPR or SVI's class; RVI must be in a higher class.
static void test_priority_classes(struct vmx_vcpu* v) {
  setup(v, guest_idle, X2 | VID);
  set_vreg(0x80, 0x50);  // VTPR class 5 blocks RVI 58H
  pend(0x58);
  CHECK_EQ(run_sync(v, "RVI in VTPR's class"), 0, "no delivery when RVI[7:4] <= VPPR[7:4]");
  CHECK_EQ(vreg(0xA0), 0x50, "PPR virtualization at entry: VPPR = VTPR");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0x58, "RVI stays");

  setup(v, guest_idle, X2 | VID);
  set_vbit(VISR, 0x60);  // 60H in service (SVI) blocks RVI 5AH even with VTPR 0
  pend(0x5A);
  vmx_write(VMCS_GUEST_INTR_STATUS, 0x605A);
  CHECK_EQ(run_sync(v, "RVI below SVI"), 0, "no delivery below SVI's class");
  CHECK_EQ(vreg(0xA0), 0x60, "VPPR = SVI & F0H when SVI's class is above VTPR's");

  // MOV CR8 lowering VTPR: TPR virtualization (PPR virtualization, evaluation); the
  // interrupt is delivered before the next instruction.
  setup(v, guest_tpr_lower, X2 | VID);
  set_vreg(0x80, 0x60);
  pend(0x50);
  const uint64_t got = run_sync(v, "MOV CR8 below RVI");
  CHECK_EQ(got & 0xFF, 0, "nothing delivered before the MOV CR8");
  CHECK_EQ(got >> 8, 1, "delivered right after the MOV CR8");
  CHECK_EQ(vreg(0x80), 0x20, "MOV CR8 wrote VTPR");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0, "RVI and SVI 0 after delivery and EOI");
}

// 29.2.2 and 29.1.4 with two levels in service: the nested 70H sees VPPR 70H and both
// VISR bits; its EOI leaves SVI = 50H (VPPR 50H); 40H waits for 50H's EOI.
static void test_nesting(struct vmx_vcpu* v) {
  setup(v, guest_idle, X2 | VID);
  nest = true;
  pend(0x50);
  CHECK_EQ(run_sync(v, "nested virtual interrupts"), 3, "three virtual interrupts");
  CHECK(log_vec[0] == 0x50 && log_vec[1] == 0x70 && log_vec[2] == 0x40,
        "delivery order %x %x %x, expected 50 70 40", log_vec[0], log_vec[1], log_vec[2]);
  CHECK_EQ(log_vppr[0], 0x50, "VPPR in the 50H handler");
  CHECK(log_isr50[1] && log_isr70[1], "VISR holds 50H and 70H in the nested handler");
  CHECK_EQ(log_vppr[1], 0x70, "VPPR in the nested 70H handler");
  CHECK_EQ(vppr_after_nested, 0x50, "after the nested EOI: SVI = 50H, VPPR = 50H");
  CHECK_EQ(count_before_eoi, 2, "40H (below SVI's class) not delivered before the EOI of 50H");
  CHECK(log_isr50[2] == 0 && log_vppr[2] == 0x40, "40H after 50H's EOI: VISR 50H clear (%u), VPPR %x",
        log_isr50[2], log_vppr[2]);
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0, "RVI and SVI 0 at the end");
  CHECK(vbits_clear(VISR) && vbits_clear(VIRR), "VISR and VIRR empty at the end");
}

// 29.2.2: RFLAGS.IF = 0 holds a virtual interrupt; STI's shadow covers HLT; the
// interrupt wakes HLT. Entry in the HLT activity state with a pending one wakes too.
static void test_hlt_wake(struct vmx_vcpu* v) {
  setup(v, guest_sti_hlt, X2 | VID);
  const uint64_t got = run_sync(v, "self-IPI with IF = 0, STI; HLT");
  CHECK_EQ(got & 0xFF, 0, "no delivery while RFLAGS.IF = 0");
  CHECK_EQ(got >> 8, 1, "delivered after STI");
  CHECK_EQ(log_rip[0], (uint64_t)a_after_hlt, "delivered in the HLT state (STI's shadow covers HLT)");

  setup(v, guest_idle, X2 | VID);
  vmx_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
  pend(0x91);
  CHECK_EQ(run_sync(v, "entry in HLT with a virtual interrupt"), 1, "a virtual interrupt wakes HLT");
  CHECK_EQ(log_vec[0], 0x91, "vector 91H");
}

// 29.2.1: interrupt-window exiting stops recognition (the window exit comes instead).
static void test_window(struct vmx_vcpu* v) {
  setup(v, guest_idle, X2 | VID);
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_INTR_WINDOW, 0);
  pend(0x91);
  run_exit(v, EXIT_REASON_INTERRUPT_WINDOW, "interrupt-window exiting with RVI");
  CHECK_EQ(nlog, 0, "not delivered with interrupt-window exiting");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0x91, "RVI unchanged");
  vmx_set_bits(VMCS_PROC_CONTROLS, 0, PROC_INTR_WINDOW);
  CHECK_EQ(run_sync(v, "window exiting off again"), 1, "delivered once the control is 0");
}

// 29.1.4: EOI virtualization with the EOI-exit bitmap, through MSR 80BH and through
// the APIC-access page: a trap-like exit 45 whose qualification is the vector.
static void test_eoi_exits(struct vmx_vcpu* v) {
  for (int xapic = 0; xapic < 2; xapic++) {
    const char* how = xapic ? "xAPIC EOI" : "x2APIC EOI";
    setup(v, guest_idle, xapic ? ACC | VID : X2 | VID);
    eoi_xapic = xapic;
    vmx_write(VMCS_EOI_EXIT_BITMAP0 + 2 * (0x93 / 64), 1ull << (0x93 % 64));
    pend(0x93);
    pend(0x31);
    if (run_exit(v, EXIT_REASON_EOI_INDUCED, how) == EXIT_REASON_EOI_INDUCED) {
      CHECK_EQ(v->exit_qual, 0x93, "EOI-induced exit: qualification = the vector");
      CHECK_EQ(vmx_read(VMCS_GUEST_RIP), xapic ? (uint64_t)a_eoi_xapic : (uint64_t)a_eoi_x2apic,
               "EOI-induced exit is trap-like: RIP after the EOI write");
      CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0x31, "SVI cleared, RVI 31H, before the exit");
      CHECK_EQ(vreg(0xA0), 0, "VPPR after the EOI");
    }
    CHECK_EQ(run_sync(v, "after the EOI exit"), 2, "the lower vector follows (no exit: its bit is 0)");
    CHECK_EQ(log_vec[1], 0x31, "then 31H");
  }
}

// 29.1.5 through ICR low on the APIC-access page (29.4.3.2) and MSR 83FH (29.5).
static void test_self_ipi(struct vmx_vcpu* v) {
  // ICR low = self shorthand, fixed, edge, vector 66H: virtualized, no exit.
  setup(v, guest_store, ACC | VID);
  g_off = 0x300;
  g_val = (1u << 18) | 0x66;
  CHECK_EQ(run_sync(v, "self-IPI through ICR low"), 1, "self-IPI virtualization delivers 66H");
  CHECK_EQ(log_vec[0], 0x66, "vector 66H");
  // Other ICR values need the VMM: an APIC-write exit right after the store.
  static const uint32_t kIcr[] = {0x66, (1u << 18) | 0x06, (1u << 18) | (1u << 15) | 0x66,
                                  (1u << 18) | (4u << 8) | 0x66, (3u << 18) | 0x66};
  for (unsigned i = 0; i < sizeof kIcr / sizeof kIcr[0]; i++) {
    setup(v, guest_store, ACC | VID);
    g_off = 0x300;
    g_val = kIcr[i];
    if (run_exit(v, EXIT_REASON_APIC_WRITE, "ICR not a plain self-IPI") == EXIT_REASON_APIC_WRITE) {
      CHECK_EQ(v->exit_qual, 0x300, "APIC-write exit: offset 300H");
      CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_after_store, "APIC-write exit RIP: right after the store");
      CHECK_EQ(vreg(0x300), kIcr[i], "VICR_LO written");
    }
  }
  // 29.4.3.1: without APIC-register virtualization only the exact offsets 80H, B0H and
  // 300H are virtualized; a write at 301H is an APIC-access exit.
  setup(v, guest_store, ACC | VID);
  g_off = 0x301;
  g_val = 0x66;
  if (run_exit(v, EXIT_REASON_APIC_ACCESS, "write at 301H") == EXIT_REASON_APIC_ACCESS)
    CHECK_EQ(v->exit_qual, 0x301 | 1u << 12, "APIC-access exit: offset 301H, linear write");
  // 27.2.1: the stack writes of an event delivery that reach the APIC-access page are
  // never virtualized: an APIC-access exit of type 3, with the event as IDT-vectoring
  // information (here INT 40H, a software interrupt, with its instruction length 2).
  setup(v, guest_int_on_apic_stack, ACC | VID | REGV);
  if (run_exit(v, EXIT_REASON_APIC_ACCESS, "INT 40H pushing onto the APIC-access page") ==
      EXIT_REASON_APIC_ACCESS) {
    const uint64_t off = v->exit_qual & 0xFFF;
    CHECK_EQ(v->exit_qual >> 12, 3, "access type 3: during event delivery");
    CHECK(off >= 0xD8 && off < 0x100, "offset within the frame below 100H (%lx)", off);
    CHECK_EQ(vmx_read(VMCS_IDT_VECTORING_INFO), INTR_INFO_VALID | INTR_TYPE_SW_INTR | 0x40,
             "IDT-vectoring information: INT 40H");
    CHECK_EQ(vmx_read(VMCS_EXIT_INSN_LEN), 2, "instruction length of INT 40H");
  }
  // 29.4.3.2: APIC-write emulation precedes the single-step trap of the writing
  // instruction; its APIC-write exit leaves the trap pending (BS in the pending debug
  // exceptions). The guest starts at the store itself with RFLAGS.TF = 1.
  setup(v, guest_store, ACC | VID);
  vmx_write(VMCS_GUEST_RIP, (uint64_t)a_store);
  vmx_write(VMCS_GUEST_RFLAGS, 0x302);
  v->regs.rdi = (uint64_t)access_page + 0x300;
  v->regs.rax = 0x66;  // ICR low: not a self-IPI, the VMM's
  if (run_exit(v, EXIT_REASON_APIC_WRITE, "ICR store with TF") == EXIT_REASON_APIC_WRITE) {
    CHECK_EQ(v->exit_qual, 0x300, "APIC-write exit before the single-step trap");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_after_store, "RIP after the store");
    CHECK_EQ(vmx_read(VMCS_GUEST_PENDING_DBG) & (1u << 14), 1u << 14, "single-step trap pending (BS)");
  }
  // 29.4.2, 29.4.3.1: only accesses entirely within a register's low 32 bits are
  // virtualized; 8 bytes at 80H (TPR) or B0H (EOI) are APIC-access exits.
  setup(v, guest_store64, ACC | VID | REGV);
  g_off = 0xB0;
  g_val = 0;
  if (run_exit(v, EXIT_REASON_APIC_ACCESS, "8-byte write at B0H") == EXIT_REASON_APIC_ACCESS)
    CHECK_EQ(v->exit_qual, 0xB0 | 1u << 12, "APIC-access exit: offset B0H, linear write");
  setup(v, guest_load64, ACC | VID | REGV);
  g_off = 0x80;
  if (run_exit(v, EXIT_REASON_APIC_ACCESS, "8-byte read at 80H") == EXIT_REASON_APIC_ACCESS)
    CHECK_EQ(v->exit_qual, 0x80, "APIC-access exit: offset 80H, linear read");
  // MSR 83FH: vectors 16-255 virtualized, 0-15 an APIC-write exit (qualification 3F0H).
  setup(v, guest_wrmsr, X2 | VID);
  g_msr = 0x83F;
  g_msr_value = 0xA5;
  CHECK_EQ(run_sync(v, "SELF IPI MSR"), 1, "self-IPI through 83FH");
  CHECK_EQ(log_vec[0], 0xA5, "vector A5H");
  // 29.5: WRMSR stores EDX:EAX at offset 3F0H before self-IPI virtualization; Bochs
  // 2.7 stores it only before an APIC-write exit (vectors 0-15).
  if (!SKIP_ON_BOCHS("SELF IPI value at 3F0H"))
    CHECK_EQ(vreg(0x3F0), 0xA5, "the value is in the virtual-APIC page at 3F0H");
  setup(v, guest_selfipi_low, X2 | VID);
  if (run_exit(v, EXIT_REASON_APIC_WRITE, "SELF IPI vector 5") == EXIT_REASON_APIC_WRITE) {
    CHECK_EQ(v->exit_qual, 0x3F0, "APIC-write exit qualification 3F0H");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_after_selfipi, "trap-like: RIP after the WRMSR");
  }
  CHECK_EQ(run_sync(v, "after the SELF IPI exit"), 0, "vector 5 is not delivered");
}

// 29.5: x2APIC MSRs. #GP for bad TPR/EOI/SELF IPI values; RDMSR of the whole range
// from the virtual-APIC page with APIC-register virtualization; without it only 808H.
static void test_x2apic_msrs(struct vmx_vcpu* v) {
  static const struct { uint32_t msr; uint64_t value; } kGp[] = {
      {0x808, 0x100}, {0x80B, 1}, {0x83F, 0x1A5}, {0x83F, 1ull << 32},
  };
  for (unsigned i = 0; i < sizeof kGp / sizeof kGp[0]; i++) {
    setup(v, guest_wrmsr, X2 | VID);
    g_msr = kGp[i].msr;
    g_msr_value = kGp[i].value;
    const unsigned gps = guest_gps;
    run_sync(v, "WRMSR with a bad value");
    CHECK(guest_gps == gps + 1, "WRMSR %x of %lx: #GP(0)", kGp[i].msr, kGp[i].value);
  }
  setup(v, guest_rdmsr, X2 | VID | REGV);
  set_vreg(0x300, 0x12345678);
  set_vreg(0x304, 0x9ABCDEF0);
  g_msr = 0x830;
  CHECK_EQ(run_sync(v, "RDMSR 830H"), 0x9ABCDEF012345678ull, "ICR read: 8 bytes at 300H");
  setup(v, guest_rdmsr, X2 | VID | REGV);
  set_vreg(0x390, 0x777);
  g_msr = 0x839;
  CHECK_EQ(run_sync(v, "RDMSR 839H"), 0x777, "current count read from the virtual-APIC page");
  setup(v, guest_rdmsr, X2 | VID);
  set_vreg(0x80, 0x40);
  set_vreg(0x84, 0x1);
  g_msr = 0x808;
  CHECK_EQ(run_sync(v, "RDMSR 808H"), 0x100000040ull, "TPR read: bytes 87H:80H");
}

// The TPR-below-threshold exit after a write through the APIC-access page (no
// virtual-interrupt delivery) is trap-like too: RIP right after the store.
static void test_exact_tpr_exit(struct vmx_vcpu* v) {
  setup(v, guest_store, ACC);
  vmx_write(VMCS_TPR_THRESHOLD, 6);
  set_vreg(0x80, 0x70);
  g_off = 0x80;
  g_val = 0xFFFFFF30;
  if (run_exit(v, EXIT_REASON_TPR_BELOW_THRESHOLD, "VTPR below threshold") ==
      EXIT_REASON_TPR_BELOW_THRESHOLD) {
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_after_store, "TPR exit RIP: right after the store");
    CHECK_EQ(vreg(0x80), 0x30, "APIC-write emulation clears VTPR bytes 3:1");
  }
  // ICR high with APIC-register virtualization: bytes 2:0 cleared, no exit.
  setup(v, guest_store, ACC | REGV);
  g_off = 0x310;
  g_val = 0xFFFFFFFF;
  run_sync(v, "ICR high write");
  CHECK_EQ(vreg(0x310), 0xFF000000, "VICR_HI bytes 2:0 cleared");
}

int main(void) {
  vmx_enable();
  if (!vmx_has_proc2(PROC2_VIRT_INTR_DELIVERY) || !vmx_has_proc2(PROC2_VIRT_X2APIC) ||
      !vmx_has_proc2(PROC2_VIRT_APIC_ACCESSES) || !vmx_has_proc2(PROC2_APIC_REG_VIRT)) {
    rt_printf("vmx_apicv2: no virtual-interrupt delivery\n");
    return 1;
  }
  rt_set_handler(13, guest_gp_skip);
  rt_outb(0x21, 0xFF);  // 8259 masked: guests run with RFLAGS.IF = 1
  rt_outb(0xA1, 0xFF);
  vapic = vmx_alloc_page();
  access_page = vmx_alloc_page();
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_idle);
  test_priority_classes(&v);
  test_nesting(&v);
  // Bochs 2.7 never wakes HLT for a virtual interrupt (its HLT state waits for
  // physical interrupts only); SDM 29.2.2 says virtual-interrupt delivery wakes HLT.
  if (!SKIP_ON_BOCHS("virtual interrupts waking HLT")) test_hlt_wake(&v);
  test_window(&v);
  test_eoi_exits(&v);
  test_self_ipi(&v);
  test_x2apic_msrs(&v);
  test_exact_tpr_exit(&v);
  rt_set_handler(13, 0);
  return vmx_test_finish("vmx_apicv2");
}
