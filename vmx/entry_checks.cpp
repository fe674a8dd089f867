// PLACEHOLDER until the ENTRY helper's implementation lands (issue 5): no checks yet.
#include "vmx/entry_checks.h"

namespace vmx {

EntryCheckResult check_controls(const Vmcs&, const VmxCaps&, const EntryContext&) { return {}; }
EntryCheckResult check_host_state(const Vmcs&, const VmxCaps&, const EntryContext&) { return {}; }
EntryCheckResult check_guest_state(const Vmcs&, const VmxCaps&, const EntryContext&, uint64_t*) {
  return {};
}

}  // namespace vmx
