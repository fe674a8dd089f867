// The bare-metal hypervisor library: capabilities, VMX operation, a default VMCS, the
// guest run loop and its VMCALL services. See vmx.h. EPT and bitmaps: vmx_ept.c.
#include "vmx.h"

#include "rt.h"
#include "trap.h"

// The layout vmx_entry.asm relies on.
_Static_assert(offsetof(struct vmx_vcpu, regs) == 0, "regs first");
_Static_assert(offsetof(struct vmx_gprs, r15) == 112, "struct vmx_gprs offsets");
_Static_assert(offsetof(struct vmx_vcpu, host_rsp) == 120, "host_rsp after regs");

struct vmx_caps vmx_caps;
void* vmx_vmxon_region;
uint64_t vmx_caught_error;

// vmx_entry.asm
int vmx_catch_raw(void (*fn)(void*), void* arg);
extern char vmx_exit_point[], vmx_catch_landing[], vmx_guest_return[];
uint64_t vmx_catch_rsp;  // nonzero while vmx_catch_raw runs: its stack to go back to

// ---- page pool --------------------------------------------------------------------
enum { POOL_PAGES = 1024 };  // 4 MiB: VMCS regions, bitmaps, EPT tables, guest stacks
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static unsigned pool_used;

void* vmx_alloc_page(void) {
  if (pool_used == POOL_PAGES) {
    rt_printf("vmx: page pool exhausted (%u pages)\n", POOL_PAGES);
    rt_exit(RT_EXIT_ASSERT);
  }
  void* p = pool[pool_used++];
  memset(p, 0, 4096);
  return p;
}

void* vmx_alloc_vmcs(bool shadow) {
  uint32_t* p = vmx_alloc_page();
  // SDM Vol. 3C 25.2: bits 30:0 the revision identifier, bit 31 the shadow-VMCS indicator.
  p[0] = VMX_BASIC_REVISION(vmx_caps.basic) | (shadow ? 1u << 31 : 0);
  return p;
}

// ---- checked VMREAD/VMWRITE ----------------------------------------------------------
uint32_t vmx_insn_error(void) {
  uint64_t v = 0;
  return vmread_checked(VMCS_VM_INSTRUCTION_ERROR, &v) == VMX_SUCCEED ? (uint32_t)v : 0;
}

uint64_t vmx_read(uint64_t field) {
  uint64_t v;
  enum vmx_status s = vmread_checked(field, &v);
  if (s != VMX_SUCCEED) {
    rt_printf("vmx: VMREAD %lx failed (status %d, error %u)\n", field, s, vmx_insn_error());
    rt_exit(RT_EXIT_ASSERT);
  }
  return v;
}

void vmx_write(uint64_t field, uint64_t value) {
  enum vmx_status s = vmwrite_checked(field, value);
  if (s != VMX_SUCCEED) {
    rt_printf("vmx: VMWRITE %lx = %lx failed (status %d, error %u)\n", field, value, s,
              vmx_insn_error());
    rt_exit(RT_EXIT_ASSERT);
  }
}

void vmx_set_bits(uint64_t field, uint64_t set, uint64_t clear) {
  vmx_write(field, (vmx_read(field) | set) & ~clear);
}

// ---- faults ---------------------------------------------------------------------------
static void catch_handler(struct rt_frame* f) {
  if (!vmx_catch_rsp) {
    rt_printf("vmx: unexpected exception %lu error 0x%lx at %lx:%lx\n", f->vector, f->error,
              f->cs, f->rip);
    rt_exit(RT_EXIT_EXCEPTION);
  }
  // Back to vmx_catch_raw's landing on its own stack (it restores the callee-saved
  // registers from there); IRETQ at CPL 0 in 64-bit mode reloads RSP from the frame.
  vmx_caught_error = f->error;
  f->rip = (uint64_t)vmx_catch_landing;
  f->rsp = vmx_catch_rsp;
  f->rax = f->vector;
  vmx_catch_rsp = 0;
}

int vmx_catch(void (*fn)(void*), void* arg) {
  for (unsigned v = 0; v < 32; v++)
    if (v != 2) rt_set_handler(v, catch_handler);
  vmx_caught_error = 0;
  int r = vmx_catch_raw(fn, arg);
  vmx_catch_rsp = 0;
  for (unsigned v = 0; v < 32; v++)
    if (v != 2) rt_set_handler(v, 0);
  return r;
}

// ---- capabilities ---------------------------------------------------------------------
bool vmx_supported(void) {
  uint32_t r[4];
  rt_cpuid(1, 0, r);
  return r[2] & (1u << 5);
}

void vmx_read_caps(void) {
  struct vmx_caps* c = &vmx_caps;
  c->basic = rt_rdmsr(MSR_IA32_VMX_BASIC);
  bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
  // A.3-A.5: with BASIC[55] the TRUE_* MSRs say which default-1 bits may be 0.
  c->pin = rt_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
  c->proc = rt_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
  c->exit = rt_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
  c->entry = rt_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
  c->misc = rt_rdmsr(MSR_IA32_VMX_MISC);
  c->cr0_fixed0 = rt_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
  c->cr0_fixed1 = rt_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
  c->cr4_fixed0 = rt_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
  c->cr4_fixed1 = rt_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
  c->vmcs_enum = rt_rdmsr(MSR_IA32_VMX_VMCS_ENUM);
  // The MSRs of absent features #GP (A.3.3, A.10, A.11): read them only when the
  // controls that use them can be 1.
  bool secondary = vmx_allowed1(c->proc, PROC_SECONDARY_CONTROLS);
  c->proc2 = secondary ? rt_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
  c->ept_vpid = secondary && (vmx_allowed1(c->proc2, PROC2_EPT) || vmx_allowed1(c->proc2, PROC2_VPID))
                    ? rt_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
  c->vmfunc = secondary && vmx_allowed1(c->proc2, PROC2_VMFUNC) ? rt_rdmsr(MSR_IA32_VMX_VMFUNC) : 0;
  c->proc3 = vmx_allowed1(c->proc, PROC_TERTIARY_CONTROLS) ? rt_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS3) : 0;
}

uint32_t vmx_adjust(uint64_t cap, uint32_t want) {
  return (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
}

bool vmx_has_proc2(uint32_t bit) {
  return vmx_allowed1(vmx_caps.proc, PROC_SECONDARY_CONTROLS) && vmx_allowed1(vmx_caps.proc2, bit);
}

uint64_t vmx_fix_cr0(uint64_t cr0) { return (cr0 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1; }
uint64_t vmx_fix_cr4(uint64_t cr4) { return (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1; }

// ---- VMX operation -------------------------------------------------------------------
void vmx_enable(void) {
  if (!vmx_supported()) {
    rt_printf("vmx: the CPU has no VMX (CPUID.1:ECX.VMX = 0)\n");
    rt_exit(RT_EXIT_ASSERT);
  }
  // SDM Vol. 3C 24.7: VMXON outside SMX needs IA32_FEATURE_CONTROL bits 0 and 2; a
  // firmware may have locked it already, with or without VMX.
  uint64_t fc = rt_rdmsr(MSR_IA32_FEATURE_CONTROL);
  if (!(fc & FEATURE_CONTROL_LOCK)) {
    fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    rt_wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
  }
  if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
    rt_printf("vmx: IA32_FEATURE_CONTROL is locked with VMX off (%lx)\n", fc);
    rt_exit(RT_EXIT_ASSERT);
  }
  vmx_read_caps();
  // 24.8: CR0 and CR4 must honour the fixed bits in VMX operation (CR4.VMXE among them).
  rt_write_cr0(vmx_fix_cr0(rt_read_cr0()));
  rt_write_cr4(vmx_fix_cr4(rt_read_cr4() | CR4_VMXE));
  if (!vmx_vmxon_region) vmx_vmxon_region = vmx_alloc_vmcs(false);
  enum vmx_status s = vmxon(vmx_pa(vmx_vmxon_region));
  if (s != VMX_SUCCEED) {
    rt_printf("vmx: VMXON failed (status %d)\n", s);
    rt_exit(RT_EXIT_ASSERT);
  }
}

void vmx_disable(void) {
  enum vmx_status s = vmxoff();
  if (s != VMX_SUCCEED) {
    rt_printf("vmx: VMXOFF failed (status %d)\n", s);
    rt_exit(RT_EXIT_ASSERT);
  }
  rt_write_cr4(rt_read_cr4() & ~(uint64_t)CR4_VMXE);
}

// ---- the default VMCS -------------------------------------------------------------
struct __attribute__((packed)) dtr {
  uint16_t limit;
  uint64_t base;
};
static struct dtr read_gdtr(void) {
  struct dtr d;
  __asm__ volatile("sgdt %0" : "=m"(d));
  return d;
}
static struct dtr read_idtr(void) {
  struct dtr d;
  __asm__ volatile("sidt %0" : "=m"(d));
  return d;
}
#define READ_SEG(name)                                     \
  static uint16_t read_##name(void) {                      \
    uint16_t s;                                            \
    __asm__ volatile("mov %%" #name ", %0" : "=r"(s));     \
    return s;                                              \
  }
READ_SEG(cs)
READ_SEG(ss)
READ_SEG(ds)
READ_SEG(es)
READ_SEG(fs)
READ_SEG(gs)
static uint16_t read_tr(void) {
  uint16_t s;
  __asm__ volatile("str %0" : "=r"(s));
  return s;
}
// The base of a 16-byte system descriptor in the GDT (SDM Vol. 3A 8.2.3).
static uint64_t tss_base(uint16_t sel) {
  const uint64_t* d = (const uint64_t*)(read_gdtr().base + (sel & ~7u));
  return ((d[0] >> 16) & 0xFFFFFF) | ((d[0] >> 56) << 24) | (d[1] << 32);
}
static uint32_t tss_limit(uint16_t sel) {
  const uint64_t* d = (const uint64_t*)(read_gdtr().base + (sel & ~7u));
  return (d[0] & 0xFFFF) | (((d[0] >> 48) & 0xF) << 16);
}

void vmx_default_controls(struct vmx_vcpu* v) {
  const struct vmx_caps* c = &vmx_caps;
  uint32_t proc = PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS;
  if (vmx_allowed1(c->proc, PROC_SECONDARY_CONTROLS)) proc |= PROC_SECONDARY_CONTROLS;
  vmx_write(VMCS_PIN_CONTROLS, vmx_adjust(c->pin, 0));
  vmx_write(VMCS_PROC_CONTROLS, vmx_adjust(c->proc, proc));
  if (proc & PROC_SECONDARY_CONTROLS) vmx_write(VMCS_PROC_CONTROLS2, vmx_adjust(c->proc2, 0));
  // A 64-bit host (27.5.1: host address-space size) and guest (26.3.1.1: IA-32e mode
  // guest); EFER and PAT switched by the controls when the CPU has them.
  vmx_write(VMCS_EXIT_CONTROLS,
            vmx_adjust(c->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
                                    EXIT_SAVE_PAT | EXIT_LOAD_PAT));
  vmx_write(VMCS_ENTRY_CONTROLS, vmx_adjust(c->entry, ENTRY_IA32E_GUEST | ENTRY_LOAD_EFER |
                                                          ENTRY_LOAD_PAT));
  vmx_write(VMCS_EXCEPTION_BITMAP, 0);
  vmx_write(VMCS_PF_ERROR_MASK, 0);
  vmx_write(VMCS_PF_ERROR_MATCH, 0);
  vmx_write(VMCS_CR3_TARGET_COUNT, 0);
  vmx_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
  vmx_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
  vmx_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
  vmx_write(VMCS_ENTRY_INTR_INFO, 0);
  vmx_write(VMCS_ENTRY_EXCEPTION_ERROR, 0);
  vmx_write(VMCS_ENTRY_INSN_LEN, 0);
  vmx_write(VMCS_CR0_GUEST_HOST_MASK, 0);
  vmx_write(VMCS_CR4_GUEST_HOST_MASK, 0);
  vmx_write(VMCS_TSC_OFFSET, 0);
  // Zeroed bitmaps: no port and no MSR exits (25.6.4, 25.6.9).
  if (!v->io_bitmap_a) v->io_bitmap_a = vmx_alloc_page();
  if (!v->io_bitmap_b) v->io_bitmap_b = vmx_alloc_page();
  if (!v->msr_bitmap) v->msr_bitmap = vmx_alloc_page();
  memset(v->io_bitmap_a, 0, 4096);
  memset(v->io_bitmap_b, 0, 4096);
  memset(v->msr_bitmap, 0, 4096);
  vmx_write(VMCS_IO_BITMAP_A, vmx_pa(v->io_bitmap_a));
  vmx_write(VMCS_IO_BITMAP_B, vmx_pa(v->io_bitmap_b));
  vmx_write(VMCS_MSR_BITMAP, vmx_pa(v->msr_bitmap));
}

void vmx_write_host_state(void) {
  // SDM Vol. 3C 25.5: what the processor loads at every VM exit (27.5).
  vmx_write(VMCS_HOST_CR0, rt_read_cr0());
  vmx_write(VMCS_HOST_CR3, rt_read_cr3());
  vmx_write(VMCS_HOST_CR4, rt_read_cr4());
  // 26.2.3: host selectors with RPL = TI = 0; CS and TR nonzero.
  vmx_write(VMCS_HOST_CS_SEL, read_cs());
  vmx_write(VMCS_HOST_SS_SEL, read_ss());
  vmx_write(VMCS_HOST_DS_SEL, read_ds());
  vmx_write(VMCS_HOST_ES_SEL, read_es());
  vmx_write(VMCS_HOST_FS_SEL, read_fs());
  vmx_write(VMCS_HOST_GS_SEL, read_gs());
  vmx_write(VMCS_HOST_TR_SEL, read_tr());
  vmx_write(VMCS_HOST_FS_BASE, rt_rdmsr(MSR_IA32_FS_BASE));
  vmx_write(VMCS_HOST_GS_BASE, rt_rdmsr(MSR_IA32_GS_BASE));
  vmx_write(VMCS_HOST_TR_BASE, tss_base(read_tr()));
  vmx_write(VMCS_HOST_GDTR_BASE, read_gdtr().base);
  vmx_write(VMCS_HOST_IDTR_BASE, read_idtr().base);
  vmx_write(VMCS_HOST_SYSENTER_CS, rt_rdmsr(MSR_IA32_SYSENTER_CS));
  vmx_write(VMCS_HOST_SYSENTER_ESP, rt_rdmsr(MSR_IA32_SYSENTER_ESP));
  vmx_write(VMCS_HOST_SYSENTER_EIP, rt_rdmsr(MSR_IA32_SYSENTER_EIP));
  if (vmx_allowed1(vmx_caps.exit, EXIT_LOAD_EFER)) vmx_write(VMCS_HOST_EFER, rt_rdmsr(MSR_IA32_EFER));
  if (vmx_allowed1(vmx_caps.exit, EXIT_LOAD_PAT)) vmx_write(VMCS_HOST_PAT, rt_rdmsr(MSR_IA32_PAT));
  // HOST_RSP is written by vmx_enter, on its own frame, when that frame moves.
  vmx_write(VMCS_HOST_RIP, (uint64_t)vmx_exit_point);
}

static void write_guest_seg(int seg, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar) {
  vmx_write(VMCS_GUEST_SEL(seg), sel);
  vmx_write(VMCS_GUEST_BASE(seg), base);
  vmx_write(VMCS_GUEST_LIMIT(seg), limit);
  vmx_write(VMCS_GUEST_AR(seg), ar);
}

void vmx_vcpu_set_guest(struct vmx_vcpu* v, void (*code)(void)) {
  if (!v->stack) v->stack = vmx_alloc_page();
  // The guest function starts as if called (RSP = 8 mod 16) and returns to
  // vmx_guest_return, which ends the guest with VMX_HC_DONE.
  uint64_t* top = (uint64_t*)((uint8_t*)v->stack + 4096);
  top[-1] = (uint64_t)vmx_guest_return;
  vmx_write(VMCS_GUEST_RSP, (uint64_t)&top[-1]);
  vmx_write(VMCS_GUEST_RIP, (uint64_t)code);
  vmx_write(VMCS_GUEST_RFLAGS, 0x2);  // bit 1 reserved-1 (26.3.1.4), IF = 0
  memset(&v->regs, 0, sizeof v->regs);
}

void vmx_write_guest_state(struct vmx_vcpu* v, void (*guest_code)(void)) {
  // SDM Vol. 3C 25.4 and the checks of 26.3.1: a 64-bit guest on the host's flat
  // segments, page tables, GDT and IDT.
  uint64_t cr0 = rt_read_cr0(), cr4 = rt_read_cr4();
  vmx_write(VMCS_GUEST_CR0, cr0);
  vmx_write(VMCS_GUEST_CR3, rt_read_cr3());
  vmx_write(VMCS_GUEST_CR4, cr4);
  vmx_write(VMCS_CR0_READ_SHADOW, cr0);
  vmx_write(VMCS_CR4_READ_SHADOW, cr4);
  vmx_write(VMCS_GUEST_DR7, 0x400);
  const uint32_t flat = 0xFFFFFFFF;
  write_guest_seg(SEG_CS, read_cs(), 0, flat, 0xB | AR_S | AR_P | AR_L | AR_G);  // code RX, accessed
  write_guest_seg(SEG_SS, read_ss(), 0, flat, 0x3 | AR_S | AR_P | AR_DB | AR_G); // data RW, accessed
  write_guest_seg(SEG_DS, read_ds(), 0, flat, 0x3 | AR_S | AR_P | AR_DB | AR_G);
  write_guest_seg(SEG_ES, read_es(), 0, flat, 0x3 | AR_S | AR_P | AR_DB | AR_G);
  write_guest_seg(SEG_FS, 0, 0, 0, AR_UNUSABLE);
  write_guest_seg(SEG_GS, 0, 0, 0, AR_UNUSABLE);
  write_guest_seg(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
  uint16_t tr = read_tr();
  write_guest_seg(SEG_TR, tr, tss_base(tr), tss_limit(tr), 0xB | AR_P);  // busy 64-bit TSS
  struct dtr g = read_gdtr(), i = read_idtr();
  vmx_write(VMCS_GUEST_GDTR_BASE, g.base);
  vmx_write(VMCS_GUEST_GDTR_LIMIT, g.limit);
  vmx_write(VMCS_GUEST_IDTR_BASE, i.base);
  vmx_write(VMCS_GUEST_IDTR_LIMIT, i.limit);
  vmx_write(VMCS_GUEST_DEBUGCTL, 0);
  vmx_write(VMCS_GUEST_SYSENTER_CS, 0);
  vmx_write(VMCS_GUEST_SYSENTER_ESP, 0);
  vmx_write(VMCS_GUEST_SYSENTER_EIP, 0);
  if (vmx_allowed1(vmx_caps.entry, ENTRY_LOAD_EFER)) vmx_write(VMCS_GUEST_EFER, rt_rdmsr(MSR_IA32_EFER));
  if (vmx_allowed1(vmx_caps.entry, ENTRY_LOAD_PAT)) vmx_write(VMCS_GUEST_PAT, rt_rdmsr(MSR_IA32_PAT));
  vmx_write(VMCS_LINK_POINTER, ~0ull);  // 26.3.1.5: no shadow VMCS
  vmx_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
  vmx_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
  vmx_write(VMCS_GUEST_PENDING_DBG, 0);
  vmx_vcpu_set_guest(v, guest_code);
}

void vmx_vcpu_init_on(struct vmx_vcpu* v, void* vmcs, void (*guest_code)(void)) {
  v->vmcs = vmcs;
  v->launched = false;
  v->host_rsp = 0;  // HOST_RSP of this VMCS not written yet
  if (vmclear(vmx_pa(vmcs)) != VMX_SUCCEED || vmptrld(vmx_pa(vmcs)) != VMX_SUCCEED) {
    rt_printf("vmx: VMCLEAR/VMPTRLD of %p failed\n", vmcs);
    rt_exit(RT_EXIT_ASSERT);
  }
  vmx_default_controls(v);
  vmx_write_host_state();
  vmx_write_guest_state(v, guest_code);
}

void vmx_vcpu_init(struct vmx_vcpu* v, void (*guest_code)(void)) {
  memset(v, 0, sizeof *v);
  vmx_vcpu_init_on(v, vmx_alloc_vmcs(false), guest_code);
}

void vmx_vcpu_load(struct vmx_vcpu* v) {
  uint64_t cur = ~0ull;
  vmptrst(&cur);
  if (cur != vmx_pa(v->vmcs) && vmptrld(vmx_pa(v->vmcs)) != VMX_SUCCEED) {
    rt_printf("vmx: VMPTRLD of %p failed\n", v->vmcs);
    rt_exit(RT_EXIT_ASSERT);
  }
}

uint32_t vmx_vcpu_run(struct vmx_vcpu* v) {
  vmx_vcpu_load(v);
  int r = vmx_enter(v, v->launched);
  v->entry_status = (enum vmx_status)r;
  if (r == VMX_FAIL_INVALID) return VMX_RUN_FAIL_INVALID;
  if (r == VMX_FAIL_VALID) {
    v->insn_error = vmx_insn_error();
    return VMX_RUN_FAIL_VALID;
  }
  v->insn_error = 0;
  v->exit_reason = (uint32_t)vmx_read(VMCS_EXIT_REASON);
  v->exit_qual = vmx_read(VMCS_EXIT_QUALIFICATION);
  // 27.8: an entry that fails while or after loading guest state leaves the VMCS clear.
  if (!(v->exit_reason & EXIT_REASON_ENTRY_FAILURE)) v->launched = true;
  return v->exit_reason;
}

void vmx_skip_insn(void) {
  vmx_write(VMCS_GUEST_RIP, vmx_read(VMCS_GUEST_RIP) + vmx_read(VMCS_EXIT_INSN_LEN));
}

uint32_t vmx_vcpu_run_guest(struct vmx_vcpu* v, uint64_t* arg) {
  for (;;) {
    uint32_t r = vmx_vcpu_run(v);
    if (r == EXIT_REASON_CPUID) {
      // CPUID always exits (SDM Vol. 3C 26.1.2): answer with the host's values.
      uint32_t c[4];
      rt_cpuid((uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, c);
      v->regs.rax = c[0];
      v->regs.rbx = c[1];
      v->regs.rcx = c[2];
      v->regs.rdx = c[3];
      vmx_skip_insn();
      continue;
    }
    if (r != EXIT_REASON_VMCALL) return r;
    switch (v->regs.rax) {
      case VMX_HC_DONE:
        vmx_skip_insn();
        return VMX_EXIT_GUEST_DONE;
      case VMX_HC_SYNC:
        vmx_skip_insn();
        if (arg) *arg = v->regs.rbx;
        return VMX_EXIT_GUEST_SYNC;
      case VMX_HC_PRINT:
        rt_puts((const char*)v->regs.rbx);
        break;
      case VMX_HC_REPORT:
        rt_printf("guest report %s=%s\n", (const char*)v->regs.rbx, (const char*)v->regs.rcx);
        rt_report((const char*)v->regs.rbx, "%s", (const char*)v->regs.rcx);
        break;
      case VMX_HC_ASSERT: {
        const struct vmx_guest_assert* a = (const struct vmx_guest_assert*)v->regs.rbx;
        rt_printf("GUEST ASSERT FAILED %s:%d: %s\n", a->file, a->line, a->expr);
        rt_report("guest_assert", "%s:%d: %s", a->file, a->line, a->expr);
        rt_exit(RT_EXIT_ASSERT);
      }
      default:
        return r;  // the test's own VMCALL
    }
    vmx_skip_insn();
  }
}

void vmx_vcpu_run_to_done(struct vmx_vcpu* v) {
  uint32_t r = vmx_vcpu_run_guest(v, 0);
  if (r == VMX_EXIT_GUEST_DONE) return;
  if (r == VMX_RUN_FAIL_INVALID || r == VMX_RUN_FAIL_VALID)
    rt_printf("vmx: VM entry failed: %s, error %u\n",
              r == VMX_RUN_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid", v->insn_error);
  else
    rt_printf("vmx: unexpected VM exit %u (%s), qualification %lx, guest RIP %lx\n", r,
              vmx_exit_name(r), v->exit_qual, vmx_read(VMCS_GUEST_RIP));
  rt_exit(RT_EXIT_ASSERT);
}

const char* vmx_exit_name(uint32_t reason) {
  static const char* const names[] = {
      [0] = "exception or NMI", "external interrupt", "triple fault", "INIT", "SIPI",
      "I/O SMI", "other SMI", "interrupt window", "NMI window", "task switch", "CPUID",
      "GETSEC", "HLT", "INVD", "INVLPG", "RDPMC", "RDTSC", "RSM", "VMCALL", "VMCLEAR",
      "VMLAUNCH", "VMPTRLD", "VMPTRST", "VMREAD", "VMRESUME", "VMWRITE", "VMXOFF", "VMXON",
      "control-register access", "MOV DR", "I/O instruction", "RDMSR", "WRMSR",
      "entry failure: invalid guest state", "entry failure: MSR loading", 0, "MWAIT",
      "monitor trap flag", 0, "MONITOR", "PAUSE", "entry failure: machine check", 0,
      "TPR below threshold", "APIC access", "virtualized EOI", "GDTR/IDTR access",
      "LDTR/TR access", "EPT violation", "EPT misconfiguration", "INVEPT", "RDTSCP",
      "VMX-preemption timer", "INVVPID", "WBINVD", "XSETBV", "APIC write", "RDRAND",
      "INVPCID", "VMFUNC", "ENCLS", "RDSEED", "page-modification log full", "XSAVES",
      "XRSTORS"};
  if (reason == VMX_EXIT_GUEST_DONE) return "guest done";
  if (reason == VMX_EXIT_GUEST_SYNC) return "guest sync";
  if (reason == VMX_RUN_FAIL_INVALID) return "VMfailInvalid";
  if (reason == VMX_RUN_FAIL_VALID) return "VMfailValid";
  uint32_t b = EXIT_REASON_BASIC(reason);
  return b < sizeof names / sizeof names[0] && names[b] ? names[b] : "?";
}

// ---- guest side --------------------------------------------------------------------
static inline void guest_hypercall(uint64_t code, uint64_t a, uint64_t b) {
  __asm__ volatile("vmcall" : "+a"(code) : "b"(a), "c"(b) : "memory", "cc");
}

void vmx_guest_done(void) { guest_hypercall(VMX_HC_DONE, 0, 0); }
void vmx_guest_sync(uint64_t value) { guest_hypercall(VMX_HC_SYNC, value, 0); }

// The guest formats into its own buffers (one guest at a time runs).
static char guest_buf[256], guest_key[64];

void vmx_guest_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rt_vsnprintf(guest_buf, sizeof guest_buf, fmt, ap);
  va_end(ap);
  guest_hypercall(VMX_HC_PRINT, (uint64_t)guest_buf, 0);
}

void vmx_guest_report(const char* key, const char* fmt, ...) {
  rt_snprintf(guest_key, sizeof guest_key, "%s", key);
  va_list ap;
  va_start(ap, fmt);
  rt_vsnprintf(guest_buf, sizeof guest_buf, fmt, ap);
  va_end(ap);
  guest_hypercall(VMX_HC_REPORT, (uint64_t)guest_key, (uint64_t)guest_buf);
}

void vmx_guest_assert_fail(const char* file, int line, const char* expr) {
  static struct vmx_guest_assert a;
  a.file = file;
  a.line = line;
  a.expr = expr;
  for (;;) guest_hypercall(VMX_HC_ASSERT, (uint64_t)&a, 0);
}
