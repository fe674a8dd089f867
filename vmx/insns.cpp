// The VMX instructions (SDM Vol. 3C 30.3) other than VMLAUNCH/VMRESUME (vmx/entry.cpp):
// each body follows its "Operation" section step by step. Conventions (30.2):
//   VMsucceed          CF, PF, AF, ZF, SF, OF := 0
//   VMfailInvalid      CF := 1, the others 0 (no current VMCS to hold an error number)
//   VMfailValid(n)     ZF := 1, the others 0, VM-instruction error field := n
// VMfail(n) is VMfailValid(n) when the current-VMCS pointer is valid, else VMfailInvalid.
#include <cstring>

#include "isa/flags.h"
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;
using isa::DecodedInst;
using isa::Intercept;

namespace {

constexpr uint64_t kArith = isa::FLAGS_ARITH;

bool pa_valid(const VmxCaps& caps, uint64_t pa) { return !(pa >> caps.maxphyaddr); }

// An EPTP as VM entry checks it (26.2.1.1) and INVEPT and VMFUNC require it: memory type
// UC or WB, a supported walk length, A/D only when supported, bits 11:7 and those
// beyond MAXPHYADDR clear.
bool eptp_valid(const VmxCaps& caps, uint64_t eptp) {
  const unsigned mt = eptp & 7, len = unsigned((eptp >> 3) & 7);
  const bool mt_ok = (mt == 0 && (caps.ept_vpid & EPT_CAP_MT_UC)) ||
                     (mt == 6 && (caps.ept_vpid & EPT_CAP_MT_WB));
  const bool len_ok = (len == 3 && (caps.ept_vpid & EPT_CAP_WALK_4)) ||
                      (len == 4 && (caps.ept_vpid & EPT_CAP_WALK_5));
  const bool ad_ok = !(eptp & 0x40) || (caps.ept_vpid & EPT_CAP_AD);
  return mt_ok && len_ok && ad_ok && !(eptp & 0xF80) && pa_valid(caps, eptp & ~0xFFFull);
}

}  // namespace

const char* exit_reason_label(unsigned basic) {
  switch (basic) {
#define EXIT_REASON(name, num, label) \
  case num: return label;
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
    default: return "unknown";
  }
}

Vmx::Vmx(Env& env, const VmxCaps& caps, const VmxTiming& timing)
    : env_(env), caps_(caps), features_(feature_mask(caps)), timing_(timing) {}

void Vmx::reset(Cpu& c) {
  vmxon_ptr_ = ~0ull;
  current_ = nullptr;
  checked_vmcs_ = guest_checked_vmcs_ = nullptr;
  saved_.vmcs = loaded_.vmcs = host_.vmcs = nullptr;
  view_vmcs_ = nullptr;
  for (Vmcs& v : cache_) v.pa = ~0ull;
  vnmi_blocked_ = false;
  last_exit_open_ = false;
  apicv_exit();  // no APIC-access page, no virtual-interrupt state (vmx/apicv_vid.cpp)
  c.vmx = isa::VmxView{};
  env_.vmx_arm_preemption_timer(~0ull);
}

// ---- flags and failures (30.2) ---------------------------------------------------

// The conventions replace all six arithmetic flags and keep the rest of RFLAGS, so the
// lazy flags become eager with the new values directly: what set_rflags(get_rflags()
// & ~arith | new) stores, without materialising the old flags only to discard them.
static void set_vm_flags(Cpu& c, uint32_t arith) {
  c.rflags = (c.rflags & ~kArith) | isa::FLAG_FIXED1;
  isa::set_flags_eager(c, arith);
}

void Vmx::succeed(Cpu& c) { set_vm_flags(c, 0); }

void Vmx::fail_invalid(Cpu& c) {
  counters.vmfail_invalid++;
  set_vm_flags(c, isa::FLAG_CF);
}

void Vmx::fail(Cpu& c, uint32_t error) {
  if (!current_) return fail_invalid(c);
  counters.vmfail_valid++;
  set_vm_flags(c, isa::FLAG_ZF);
  current_->set(Field::VM_INSTRUCTION_ERROR, error);
}

// The checks every VMX instruction but VMXON starts with (30.3 "Operation"): #UD outside
// VMX operation, in real-address or virtual-8086 mode, and in compatibility mode; in
// non-root operation the instruction is intercepted (VMREAD/VMWRITE may not be, with
// VMCS shadowing); #GP(0) at CPL > 0. False when the instruction is over (it exited).
bool Vmx::common_checks_slow(Cpu& c, const DecodedInst& d, Intercept k) {
  if (c.vmx.mode == isa::VmxMode::kOff || !(c.cr0 & isa::CR0_PE) || (c.rflags & isa::FLAG_VM) ||
      ((c.efer & isa::EFER_LMA) && !c.long64))
    isa::raise_ud();
  if (c.vmx.mode == isa::VmxMode::kNonRoot && intercept(c, d, k, 0)) return false;
  if (c.cpl > 0) isa::raise_gp0();
  return true;
}

// The m64 operand of VMXON, VMCLEAR and VMPTRLD: a physical address.
uint64_t Vmx::read_pointer_operand(Cpu& c, const DecodedInst& d) {
  if (!d.is_mem()) isa::raise_ud();
  return c.read<uint64_t>(d.seg, c.ea(d));
}

// ---- the VMCS cache -------------------------------------------------------------------

Vmcs* Vmx::find_cached(uint64_t pa) {
  for (unsigned i = 0; i < kVmcsCache; i++)
    if (cache_[i].pa == pa) {
      cache_stamp_[i] = ++cache_clock_;
      return &cache_[i];
    }
  return nullptr;
}

void Vmx::evict(Vmcs* v) {
  v->store(env_);
  v->pa = ~0ull;
}

// Loads the VMCS at `pa` into a free slot, or the least recently used one after
// writing it back (it stays active: its region now holds its state, launch state
// included, and a later VMPTRLD reads it again).
Vmcs* Vmx::load_vmcs(uint64_t pa) {
  // A free slot, else the least recently used VMCS that is not the current one (which
  // a shadow-VMCS access in non-root operation must keep).
  unsigned victim = kVmcsCache;
  for (unsigned i = 0; i < kVmcsCache; i++) {
    if (cache_[i].pa == ~0ull) {
      victim = i;
      break;
    }
    if (&cache_[i] == current_) continue;
    if (victim == kVmcsCache || cache_stamp_[i] < cache_stamp_[victim]) victim = i;
  }
  Vmcs* v = &cache_[victim];
  if (v->pa != ~0ull) {
    counters.vmcs_cache_evictions++;
    evict(v);
  }
  v->load(env_, pa);
  cache_stamp_[victim] = ++cache_clock_;
  return v;
}

// ---- VMXON / VMXOFF (30.3) ------------------------------------------------------------

void Vmx::vmxon(Cpu& c, const DecodedInst& d) {
  using isa::VmxMode;
  if (c.vmx.mode == VmxMode::kOff) {
    // Outside VMX operation: #UD unless CR4.VMXE and protected, non-VM86, non-compat.
    if (!(c.cr4 & isa::CR4_VMXE) || !(c.cr0 & isa::CR0_PE) || (c.rflags & isa::FLAG_VM) ||
        ((c.efer & isa::EFER_LMA) && !c.long64))
      isa::raise_ud();
    // #GP(0): CPL > 0, CR0/CR4 not at their fixed values (23.8), IA32_FEATURE_CONTROL
    // not locked or VMX outside SMX disabled (23.7). A20M is never in effect here.
    const bool cr_ok = (c.cr0 & caps_.cr0_fixed0) == caps_.cr0_fixed0 &&
                       !(c.cr0 & ~caps_.cr0_fixed1) &&
                       (c.cr4 & caps_.cr4_fixed0) == caps_.cr4_fixed0 &&
                       !(c.cr4 & ~caps_.cr4_fixed1);
    const uint64_t fc = c.msr.feature_control;
    if (c.cpl > 0 || !cr_ok || !(fc & 1) || !(fc & 4)) isa::raise_gp0();
    const uint64_t pa = read_pointer_operand(c, d);
    // VMfailInvalid: not 4-KByte aligned, beyond MAXPHYADDR, or a wrong revision id
    // (bits 30:0 of the region's first dword; bit 31 must be 0).
    uint32_t rev = 0;
    if (!(pa & 0xFFF) && pa_valid(caps_, pa)) env_.phys_read(pa, &rev, 4);
    if ((pa & 0xFFF) || !pa_valid(caps_, pa) || rev != caps_.revision_id) return fail_invalid(c);
    vmxon_ptr_ = pa;
    current_ = nullptr;
    c.vmx.mode = VmxMode::kRoot;
    set_view(c);
    succeed(c);
    env_.vmx_trace(c, "vmxon");
    return;
  }
  if (c.vmx.mode == VmxMode::kNonRoot) {
    intercept(c, d, Intercept::kVmxon, 0);
    return;
  }
  if (c.cpl > 0) isa::raise_gp0();
  fail(c, VMERR_VMXON_IN_ROOT);
}

void Vmx::vmxoff(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmxoff)) return;
  // Dual-monitor treatment is not modelled, so error 23 cannot happen. Active VMCSs
  // stay in the cache's memory image: write them back so their regions are current.
  for (Vmcs& v : cache_)
    if (v.pa != ~0ull) evict(&v);
  current_ = nullptr;
  vmxon_ptr_ = ~0ull;
  c.vmx = isa::VmxView{};
  succeed(c);
  env_.vmx_trace(c, "vmxoff");
}

// ---- VMCLEAR / VMPTRLD / VMPTRST ------------------------------------------------------

void Vmx::vmclear(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmclear)) return;
  const uint64_t pa = read_pointer_operand(c, d);
  if ((pa & 0xFFF) || !pa_valid(caps_, pa)) return fail(c, VMERR_VMCLEAR_BAD_ADDR);
  if (pa == vmxon_ptr_) return fail(c, VMERR_VMCLEAR_VMXON_PTR);
  counters.vmclear++;
  // Write the VMCS data back (if cached) and make the launch state "clear"; a region the
  // processor does not hold gets its launch state cleared in memory.
  if (Vmcs* v = find_cached(pa)) {
    v->launched = false;
    if (v == current_) current_ = nullptr;
    evict(v);
  } else {
    const uint8_t clear = 0;
    env_.phys_write(pa + kVmcsLaunchOffset, &clear, 1);
  }
  succeed(c);
}

void Vmx::vmptrld(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmptrld)) return;
  const uint64_t pa = read_pointer_operand(c, d);
  if ((pa & 0xFFF) || !pa_valid(caps_, pa)) return fail(c, VMERR_VMPTRLD_BAD_ADDR);
  if (pa == vmxon_ptr_) return fail(c, VMERR_VMPTRLD_VMXON_PTR);
  counters.vmptrld++;
  Vmcs* v = find_cached(pa);
  if (!v) {
    uint32_t hdr = 0;
    env_.phys_read(pa, &hdr, 4);
    // 30.3 VMPTRLD: the revision identifier must match; a shadow-VMCS indicator of 1
    // needs the VMCS-shadowing capability.
    if ((hdr & ~VMCS_SHADOW_INDICATOR) != caps_.revision_id ||
        ((hdr & VMCS_SHADOW_INDICATOR) && !caps_.has(Feature::VMCS_SHADOWING)))
      return fail(c, VMERR_VMPTRLD_BAD_REVISION);
    v = load_vmcs(pa);
  }
  current_ = v;
  succeed(c);
}

void Vmx::vmptrst(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmptrst)) return;
  if (!d.is_mem()) isa::raise_ud();
  c.write<uint64_t>(d.seg, c.ea(d), current_ ? current_->pa : ~0ull);
  succeed(c);
}

// ---- VMREAD / VMWRITE (30.3; 24.11.2 for the access types) ---------------------------

// The VMCS VMREAD/VMWRITE access (24.10): in root operation the current VMCS; in
// non-root operation (not intercepted: VMCS shadowing) the one the VMCS link pointer
// references. Null: no such VMCS (VMfailInvalid).
Vmcs* Vmx::accessed_vmcs(Cpu& c) {
  if (c.vmx.mode != isa::VmxMode::kNonRoot) return current_;
  const uint64_t link = current_->get(Field::VMCS_LINK_POINTER);
  if (link == ~0ull) return nullptr;
  Vmcs* v = find_cached(link);
  return v ? v : load_vmcs(link);
}

void Vmx::vmread(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmread)) return;
  const bool shadow = c.vmx.mode == isa::VmxMode::kNonRoot;
  Vmcs* v = accessed_vmcs(c);
  if (!v) return fail_invalid(c);
  FieldRef f;
  if (!lookup_field(features_, c.r[d.reg], f)) return fail(c, VMERR_UNSUPPORTED_FIELD);
  uint64_t val = v->get(f.field);
  if (f.high) val >>= 32;
  const unsigned size = d.osize;  // 8 in 64-bit mode, else 4
  if (size == 4) val = uint32_t(val);
  if (d.is_mem()) {
    if (size == 8) c.write<uint64_t>(d.seg, c.ea(d), val);
    else c.write<uint32_t>(d.seg, c.ea(d), uint32_t(val));
  } else {
    if (size == 8) c.r[d.rm] = val;
    else c.set_reg<uint32_t>(d.rm, uint32_t(val));
  }
  counters.vmread++;
  if (shadow) counters.vmread_shadow++;
  succeed(c);
}

void Vmx::vmwrite(Cpu& c, const DecodedInst& d) {
  if (!common_checks(c, d, Intercept::kVmwrite)) return;
  const unsigned size = d.osize;
  uint64_t val;
  if (d.is_mem()) val = size == 8 ? c.read<uint64_t>(d.seg, c.ea(d)) : c.read<uint32_t>(d.seg, c.ea(d));
  else val = size == 8 ? c.r[d.rm] : uint32_t(c.r[d.rm]);
  const bool shadow = c.vmx.mode == isa::VmxMode::kNonRoot;
  Vmcs* v = accessed_vmcs(c);
  if (!v) return fail_invalid(c);
  FieldRef f;
  if (!lookup_field(features_, c.r[d.reg], f)) return fail(c, VMERR_UNSUPPORTED_FIELD);
  const FieldInfo& fi = field_info(f.field);
  if (fi.type == FieldType::RO && !(caps_.misc & MISC_VMWRITE_ANY))
    return fail(c, VMERR_VMWRITE_READ_ONLY);
  if (f.high) {
    // The high half of a 64-bit field: bits 63:32 from the operand's low 32 bits.
    v->set(f.field, (v->get(f.field) & 0xFFFFFFFFull) | (uint64_t(uint32_t(val)) << 32));
  } else {
    // A full access with a 32-bit operand writes bits 31:0 and clears 63:32 (24.11.2).
    v->set(f.field, val);
  }
  counters.vmwrite++;
  if (shadow) counters.vmwrite_shadow++;
  succeed(c);
}

// ---- INVEPT / INVVPID (30.3) ----------------------------------------------------------

// INVEPT/INVVPID operands (30.3): the type in a register (64-bit in 64-bit mode), a
// 16-byte descriptor in memory (a register operand is #UD). False: the instruction
// exited (non-root operation).
bool Vmx::invalidation_operands(Cpu& c, const DecodedInst& d, Intercept k, uint64_t& type,
                                uint64_t desc[2]) {
  if (!d.is_mem()) isa::raise_ud();
  if (!common_checks(c, d, k)) return false;
  type = d.osize == 8 ? c.r[d.reg] : uint32_t(c.r[d.reg]);
  c.read_bytes(d.seg, c.ea(d), desc, 16);
  return true;
}

void Vmx::invept(Cpu& c, const DecodedInst& d) {
  if (!caps_.has(Feature::EPT) || !(caps_.ept_vpid & EPT_CAP_INVEPT)) isa::raise_ud();
  uint64_t type, desc[2];
  if (!invalidation_operands(c, d, Intercept::kInvept, type, desc)) return;
  const bool single_ok = caps_.ept_vpid & EPT_CAP_INVEPT_SINGLE;
  const bool all_ok = caps_.ept_vpid & EPT_CAP_INVEPT_ALL;
  if (!((type == 1 && single_ok) || (type == 2 && all_ok))) return fail(c, VMERR_BAD_INVEPT_INVVPID);
  counters.invept++;
  if (type == 1) {
    // The EPTP in the descriptor must pass the VM-entry checks of an EPTP (26.2.1.1):
    // memory type UC or WB, a supported walk length, A/D only when supported,
    // reserved bits 11:7 and above MAXPHYADDR clear.
    const uint64_t eptp = desc[0];
    if (!eptp_valid(caps_, eptp)) return fail(c, VMERR_BAD_INVEPT_INVVPID);
    env_.vmx_flush(Env::Flush::kEptSingle, 0, eptp, 0);
  } else {
    env_.vmx_flush(Env::Flush::kEptAll, 0, 0, 0);
  }
  succeed(c);
}

void Vmx::invvpid(Cpu& c, const DecodedInst& d) {
  if (!caps_.has(Feature::VPID) || !(caps_.ept_vpid & VPID_CAP_INVVPID)) isa::raise_ud();
  uint64_t type, desc[2];
  if (!invalidation_operands(c, d, Intercept::kInvvpid, type, desc)) return;
  const uint64_t cap = caps_.ept_vpid;
  const bool supported = (type == 0 && (cap & VPID_CAP_ADDR)) || (type == 1 && (cap & VPID_CAP_SINGLE)) ||
                         (type == 2 && (cap & VPID_CAP_ALL)) ||
                         (type == 3 && (cap & VPID_CAP_SINGLE_GLOBALS));
  if (!supported) return fail(c, VMERR_BAD_INVEPT_INVVPID);
  // Descriptor: VPID in bits 15:0, bits 63:16 reserved (must be 0), linear address in
  // bits 127:64. VPID 0 is invalid for types 0, 1, 3; type 0 needs a canonical address.
  if (desc[0] >> 16) return fail(c, VMERR_BAD_INVEPT_INVVPID);
  const uint16_t vpid = uint16_t(desc[0]);
  const uint64_t addr = desc[1];
  if (type != 2 && vpid == 0) return fail(c, VMERR_BAD_INVEPT_INVVPID);
  if (type == 0 && uint64_t(int64_t(addr << 16) >> 16) != addr &&
      !((c.cr4 & isa::CR4_LA57) && uint64_t(int64_t(addr << 7) >> 7) == addr))
    return fail(c, VMERR_BAD_INVEPT_INVVPID);
  counters.invvpid++;
  static constexpr Env::Flush kKinds[] = {Env::Flush::kVpidAddress, Env::Flush::kVpidSingle,
                                          Env::Flush::kVpidAll, Env::Flush::kVpidSingleNonGlobal};
  env_.vmx_flush(kKinds[type], vpid, 0, addr);
  succeed(c);
}

// ---- VMCALL, VMFUNC ------------------------------------------------------------------

void Vmx::vmcall(Cpu& c, const DecodedInst& d) {
  // VMCALL: #UD outside VMX operation; in non-root operation an unconditional exit; in
  // root operation without the dual-monitor treatment VMfail(1) (30.3 VMCALL).
  if (c.vmx.mode == isa::VmxMode::kNonRoot) {
    intercept(c, d, Intercept::kVmcall, 0);
    return;
  }
  if (c.vmx.mode == isa::VmxMode::kOff) isa::raise_ud();
  if (!(c.cr0 & isa::CR0_PE) || (c.rflags & isa::FLAG_VM) || ((c.efer & isa::EFER_LMA) && !c.long64))
    isa::raise_ud();
  if (c.cpl > 0) isa::raise_gp0();
  fail(c, VMERR_VMCALL_IN_ROOT);
}

void Vmx::vmfunc(Cpu& c, const DecodedInst& d) {
  // VMFUNC is #UD outside non-root operation and when "enable VM functions" is 0
  // (25.5.6); the function number is EAX. An unsupported function, or one whose
  // control bit is clear, exits with reason 59; function 0 is EPTP switching.
  if (c.vmx.mode != isa::VmxMode::kNonRoot) isa::raise_ud();
  Vmcs& v = *current_;
  const uint32_t proc2 = v.secondary_controls();
  if (!(proc2 & CPU2_VMFUNC)) isa::raise_ud();
  // EPTP switching (25.5.6.3): function 0 enabled, ECX < 512, and a valid EPTP in the
  // list: EPT_POINTER changes without an exit (a new translation context).
  const uint32_t fn = uint32_t(c.r[isa::RAX]);
  const uint32_t index = uint32_t(c.r[isa::RCX]);
  if (fn == 0 && (v.get(Field::VM_FUNCTION_CONTROL) & VMFUNC_EPTP_SWITCHING) && index < 512 &&
      (proc2 & CPU2_EPT)) {
    uint64_t eptp = 0;
    env_.phys_read(v.get(Field::EPTP_LIST_ADDRESS) + 8ull * index, &eptp, 8);
    if (eptp_valid(caps_, eptp)) {
      counters.vmfunc++;
      v.set(Field::EPT_POINTER, eptp);
      env_.vmx_context_changed(c);
      c.attention = true;
      return;
    }
  }
  intercept(c, d, Intercept::kVmfunc, fn);  // every other case exits (reason 59)
}

}  // namespace vmx
