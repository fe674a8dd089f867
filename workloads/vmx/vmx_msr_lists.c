// MSR lists (SDM Vol. 3C 25.7.2, 25.8.2, 26.4, 27.4, 27.6): the VM-entry MSR-load list
// loads guest values before the guest runs; at a VM exit the MSR-store list saves the
// guest's values and then the MSR-load list loads the host's; lists of several entries
// are processed in order, and the entry list at every entry. IA32_LSTAR, IA32_STAR and IA32_KERNEL_GS_BASE serve: the VMCS
// has no fields of its own for them and the guest reaches them (no MSR exits).
#include "vmx_test.h"

struct msr_entry {
  uint32_t index, reserved;
  uint64_t value;
};

static void guest_msrs(void) {
  // What the entry list loaded, then new values for the exit's store list.
  vmx_guest_sync(rt_rdmsr(MSR_IA32_LSTAR));
  vmx_guest_sync(rt_rdmsr(MSR_IA32_KERNEL_GS_BASE));
  rt_wrmsr(MSR_IA32_LSTAR, 0xFFFFFFFF81000000ull);
  rt_wrmsr(MSR_IA32_KERNEL_GS_BASE, 0x7000);
  vmx_guest_sync(0);
}

int main(void) {
  vmx_enable();
  const uint64_t host_lstar = 0xFFFFFFFF80001000ull, host_kgs = 0x1000;
  rt_wrmsr(MSR_IA32_LSTAR, host_lstar);
  rt_wrmsr(MSR_IA32_KERNEL_GS_BASE, host_kgs);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_msrs);
  struct msr_entry* entry_load = vmx_alloc_page();
  struct msr_entry* exit_store = vmx_alloc_page();
  struct msr_entry* exit_load = vmx_alloc_page();
  entry_load[0] = (struct msr_entry){MSR_IA32_LSTAR, 0, 0xFFFF800000002000ull};
  entry_load[1] = (struct msr_entry){MSR_IA32_KERNEL_GS_BASE, 0, 0x2000};
  exit_store[0] = (struct msr_entry){MSR_IA32_LSTAR, 0, 0};
  exit_store[1] = (struct msr_entry){MSR_IA32_KERNEL_GS_BASE, 0, 0};
  exit_load[0] = (struct msr_entry){MSR_IA32_LSTAR, 0, host_lstar};
  exit_load[1] = (struct msr_entry){MSR_IA32_KERNEL_GS_BASE, 0, host_kgs};
  vmx_write(VMCS_ENTRY_MSR_LOAD_ADDR, vmx_pa(entry_load));
  vmx_write(VMCS_ENTRY_MSR_LOAD_COUNT, 2);
  vmx_write(VMCS_EXIT_MSR_STORE_ADDR, vmx_pa(exit_store));
  vmx_write(VMCS_EXIT_MSR_STORE_COUNT, 2);
  vmx_write(VMCS_EXIT_MSR_LOAD_ADDR, vmx_pa(exit_load));
  vmx_write(VMCS_EXIT_MSR_LOAD_COUNT, 2);

  uint64_t got;
  CHECK_EQ(vmx_vcpu_run_guest(&v, &got), VMX_EXIT_GUEST_SYNC, "first report");
  CHECK_EQ(got, 0xFFFF800000002000ull, "guest IA32_LSTAR from the VM-entry MSR-load list");
  CHECK_EQ(rt_rdmsr(MSR_IA32_LSTAR), host_lstar, "host IA32_LSTAR from the VM-exit MSR-load list");
  CHECK_EQ(exit_store[0].value, 0xFFFF800000002000ull, "VM-exit MSR-store list: IA32_LSTAR");
  CHECK_EQ(exit_store[1].value, 0x2000, "VM-exit MSR-store list: IA32_KERNEL_GS_BASE");
  CHECK_EQ(vmx_vcpu_run_guest(&v, &got), VMX_EXIT_GUEST_SYNC, "second report");
  CHECK_EQ(got, 0x2000, "guest IA32_KERNEL_GS_BASE from the VM-entry MSR-load list");
  CHECK_EQ(rt_rdmsr(MSR_IA32_KERNEL_GS_BASE), host_kgs, "host IA32_KERNEL_GS_BASE after the exit");
  CHECK_EQ(vmx_vcpu_run_guest(&v, &got), VMX_EXIT_GUEST_SYNC, "third report");
  CHECK_EQ(exit_store[0].value, 0xFFFFFFFF81000000ull, "MSR-store list: the guest's new IA32_LSTAR");
  CHECK_EQ(exit_store[1].value, 0x7000, "MSR-store list: the guest's new IA32_KERNEL_GS_BASE");
  CHECK_EQ(rt_rdmsr(MSR_IA32_LSTAR), host_lstar, "host IA32_LSTAR restored again");
  // The store list is written before the load list is read (27.4 before 27.6): one
  // list used for both leaves the host values in memory and in the MSRs.
  vmx_write(VMCS_EXIT_MSR_LOAD_ADDR, vmx_pa(exit_store));
  CHECK_EQ(vmx_vcpu_run_guest(&v, &got), VMX_EXIT_GUEST_DONE, "guest done");
  CHECK_EQ(rt_rdmsr(MSR_IA32_LSTAR), 0xFFFF800000002000ull,
           "one list for store and load: IA32_LSTAR is the stored guest value");
  rt_wrmsr(MSR_IA32_LSTAR, host_lstar);
  return vmx_test_finish("vmx_msr_lists");
}
