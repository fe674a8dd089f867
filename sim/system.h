// System forms whose meaning needs the machine (port I/O: IN/OUT/INS/OUTS with the
// TSS I/O bitmap): bound here, in the one place of sim/ that sees both the isa/
// forms and the machine. Issue 5 binds the VMX forms here too.
#pragma once
#include "isa/bind.h"

namespace isa {
struct Cpu;
}

namespace sim {

struct CpuModel;

void bind_system_forms(isa::HandlerTable& t);
// The VMX instruction forms, bound to vmx::Vmx (sim/vmx_glue.cpp).
void bind_vmx_forms(isa::HandlerTable& t);
// An instruction longer than 15 bytes: #GP(0) (SDM Vol. 2A 2.3.11).
void bind_too_long(isa::DecodedInst& d);
// Power-up MSR values of the model (CpuModel::msr_defaults), applied at every reset
// after the architectural state is cleared.
void apply_model_msrs(isa::Cpu& c, const CpuModel& m);

}  // namespace sim
