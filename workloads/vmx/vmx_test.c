#include "vmx_test.h"

unsigned vmx_test_failures, vmx_test_checks;

int vmx_test_finish(const char* name) {
  rt_report("checks", "%u", vmx_test_checks);
  rt_report("failures", "%u", vmx_test_failures);
  if (vmx_test_failures) {
    rt_printf("%s: %u of %u checks FAILED\n", name, vmx_test_failures, vmx_test_checks);
    return 1;
  }
  rt_printf("%s: all checks passed (%u checks)\n", name, vmx_test_checks);
  return 0;
}
