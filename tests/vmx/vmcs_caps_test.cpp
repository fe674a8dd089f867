// The VMCS field table (vmx/vmcs_fields.def), VMREAD/VMWRITE encoding lookup, the VMCS
// region layout, and the capability MSRs derived from a model's VMX feature set
// (vmx/caps.h): their self-consistency rules (SDM Vol. 3C Appendix A).
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "isa/cpu_state.h"
#include "sim/cpu_model.h"
#include "vmx/caps.h"
#include "vmx/controls.h"
#include "vmx/vmcs.h"

namespace {

using vmx::Field;
using vmx::FieldInfo;
using vmx::VmxCaps;

// A byte-addressed physical memory for Vmcs::load/store.
struct FlatMem final : vmx::PhysAccess {
  std::vector<uint8_t> m = std::vector<uint8_t>(1 << 16, 0xCC);
  void phys_read(uint64_t pa, void* dst, size_t n) override { std::memcpy(dst, &m[pa], n); }
  void phys_write(uint64_t pa, const void* src, size_t n) override { std::memcpy(&m[pa], src, n); }
};

uint64_t cap(const VmxCaps& k, uint32_t index) {
  uint64_t v = 0;
  REQUIRE(vmx::read_cap_msr(k, index, v));
  return v;
}

}  // namespace

TEST_CASE("VMCS field table: encodings, widths, names", "[vmcs]") {
  std::set<uint32_t> seen;
  std::set<std::string> names;
  for (unsigned i = 0; i < vmx::kFieldCount; i++) {
    const FieldInfo& f = vmx::field_info(Field(i));
    INFO(f.name);
    CHECK(seen.insert(f.encoding).second);
    CHECK(names.insert(f.name).second);
    CHECK((f.encoding & 1) == 0);
    CHECK(((f.encoding >> 13) & 3) == unsigned(f.width));
    CHECK(((f.encoding >> 10) & 3) == unsigned(f.type));
    // Names follow the type: guest/host state fields are named so.
    const std::string n = f.name;
    if (f.type == vmx::FieldType::HOST) CHECK(n.rfind("HOST_", 0) == 0);
    if (f.type == vmx::FieldType::GUEST)
      CHECK((n.rfind("GUEST_", 0) == 0 || n == "VMCS_LINK_POINTER" ||
             n == "VMX_PREEMPTION_TIMER_VALUE"));
  }
  // The modelled set (vmcs_fields.def): update deliberately when the table grows.
  CHECK(vmx::kFieldCount == 148);
}

TEST_CASE("VMCS field lookup: access types, reserved bits, features", "[vmcs]") {
  const VmxCaps k = sim::default_cpu_model().vmx;
  vmx::FieldRef r;
  REQUIRE(vmx::lookup_field(k, 0x681E, r));  // GUEST_RIP
  CHECK(r.field == Field::GUEST_RIP);
  CHECK(!r.high);
  REQUIRE(vmx::lookup_field(k, 0x201B, r));  // EPT_POINTER, high half
  CHECK(r.field == Field::EPT_POINTER);
  CHECK(r.high);
  CHECK(!vmx::lookup_field(k, 0x681F, r));   // high access of a natural-width field
  CHECK(!vmx::lookup_field(k, 0x4003, r));   // ... of a 32-bit field
  CHECK(!vmx::lookup_field(k, 0x0001, r));   // ... of a 16-bit field
  CHECK(!vmx::lookup_field(k, 0x1000681E, r));  // bits 63:15 reserved
  CHECK(!vmx::lookup_field(k, 0x681E | (1u << 12), r));  // bit 12 reserved
  CHECK(!vmx::lookup_field(k, 0x200C, r));   // executive-VMCS pointer: not modelled
  CHECK(!vmx::lookup_field(k, 1ull << 40, r));
  // A model without EPT has no EPT fields.
  VmxCaps no_ept = k;
  no_ept.proc2 &= ~uint32_t(vmx::CPU2_EPT);
  CHECK(!vmx::lookup_field(no_ept, 0x201A, r));  // EPT_POINTER
  CHECK(!vmx::lookup_field(no_ept, 0x2400, r));  // GUEST_PHYSICAL_ADDRESS
  CHECK(vmx::lookup_field(no_ept, 0x681E, r));
  // Without secondary controls the secondary-control field itself does not exist.
  VmxCaps no_sec = k;
  no_sec.proc &= ~uint32_t(vmx::CPU_SECONDARY_CONTROLS);
  CHECK(!vmx::lookup_field(no_sec, 0x401E, r));
}

TEST_CASE("VMCS_ENUM is the highest index VMREAD accepts", "[vmcs][caps]") {
  const VmxCaps k = sim::default_cpu_model().vmx;
  const uint64_t e = cap(k, vmx::MSR_VMX_VMCS_ENUM);
  unsigned max_index = 0;
  // Every encoding: width x type x index, access type 0.
  for (uint32_t w = 0; w < 4; w++)
    for (uint32_t t = 0; t < 4; t++)
      for (uint32_t i = 0; i < 512; i++) {
        const uint32_t enc = w << 13 | t << 10 | i << 1;
        vmx::FieldRef r;
        if (vmx::lookup_field(k, enc, r)) max_index = std::max(max_index, unsigned(i));
      }
  CHECK(e == uint64_t(max_index) << 1);
  CHECK((e & ~0x3FEull) == 0);
}

TEST_CASE("VMCS storage: width masks and a region copied byte for byte", "[vmcs]") {
  vmx::Vmcs v;
  v.set(Field::GUEST_ES_SELECTOR, 0x12345678);  // 16-bit
  CHECK(v.get(Field::GUEST_ES_SELECTOR) == 0x5678);
  v.set(Field::GUEST_ES_LIMIT, 0x1'2345'6789ull);  // 32-bit
  CHECK(v.get(Field::GUEST_ES_LIMIT) == 0x23456789);
  v.set(Field::GUEST_RIP, ~0ull);  // natural width: 64 bits
  CHECK(v.get(Field::GUEST_RIP) == ~0ull);
  FlatMem mem;
  v.pa = 0x1000;
  v.revision = 0x1234;
  v.launched = true;
  v.store(mem);
  std::memcpy(&mem.m[0x3000], &mem.m[0x1000], 4096);  // a copy of the region
  vmx::Vmcs w;
  w.load(mem, 0x3000);
  CHECK(w.pa == 0x3000);
  CHECK(w.revision == 0x1234);
  CHECK(!w.shadow);
  CHECK(w.launched);
  for (unsigned i = 0; i < vmx::kFieldCount; i++) CHECK(w.v[i] == v.v[i]);
  // A region written by software holds anything: loaded values fit their width.
  std::memset(&mem.m[0x5000], 0xFF, 4096);
  vmx::Vmcs x;
  x.load(mem, 0x5000);
  CHECK(x.shadow);
  CHECK(x.revision == 0x7FFFFFFF);
  CHECK(x.get(Field::GUEST_ES_SELECTOR) == 0xFFFF);
  CHECK(x.get(Field::GUEST_ES_LIMIT) == 0xFFFFFFFF);
}

TEST_CASE("Default shadow bitmaps: SH fields pass, read-only fields per MISC[29]", "[vmcs]") {
  VmxCaps k = sim::default_cpu_model().vmx;
  uint8_t rd[4096], wr[4096];
  vmx::default_shadow_bitmap(k, false, rd);
  vmx::default_shadow_bitmap(k, true, wr);
  auto bit = [](const uint8_t* b, uint32_t enc) { return (b[(enc & 0x7FFF) >> 3] >> (enc & 7)) & 1; };
  CHECK(bit(rd, 0x681E) == 0);  // GUEST_RIP: shadowed
  CHECK(bit(wr, 0x681E) == 0);
  CHECK(bit(rd, 0x4402) == 0);  // VM_EXIT_REASON: read-only, readable
  CHECK(bit(wr, 0x4402) == 0);  // writable through the shadow with MISC[29]
  CHECK(bit(rd, 0x201A) == 1);  // EPT_POINTER: not shadowed by default
  CHECK(bit(rd, 0x2400) == 0);  // GUEST_PHYSICAL_ADDRESS, both halves
  CHECK(bit(rd, 0x2401) == 0);
  k.misc &= ~vmx::MISC_VMWRITE_ANY;
  vmx::default_shadow_bitmap(k, true, wr);
  CHECK(bit(wr, 0x4402) == 1);
}

TEST_CASE("Capability MSRs are self-consistent (Appendix A)", "[caps]") {
  for (const sim::CpuModel* m : sim::cpu_models()) {
    INFO(m->name);
    const VmxCaps& k = m->vmx;
    const uint64_t basic = cap(k, vmx::MSR_VMX_BASIC);
    CHECK((basic & 0x7FFFFFFF) == k.revision_id);
    CHECK(((basic >> 32) & 0x1FFF) == 4096);  // region size
    CHECK(((basic >> 50) & 0xF) == 6);        // write-back
    CHECK((basic >> 55) & 1);                 // TRUE controls
    CHECK(!((basic >> 48) & 1));              // physical addresses up to MAXPHYADDR
    // Each control MSR: allowed-0 bits are a subset of allowed-1 bits; the non-TRUE
    // MSR reports the default-1 class as 1; the TRUE MSR may clear some of them.
    struct Pair { uint32_t plain, tru, default1; } pairs[] = {
        {vmx::MSR_VMX_PINBASED_CTLS, vmx::MSR_VMX_TRUE_PINBASED_CTLS, vmx::PIN_DEFAULT1},
        {vmx::MSR_VMX_PROCBASED_CTLS, vmx::MSR_VMX_TRUE_PROCBASED_CTLS, vmx::CPU_DEFAULT1},
        {vmx::MSR_VMX_EXIT_CTLS, vmx::MSR_VMX_TRUE_EXIT_CTLS, vmx::EXIT_DEFAULT1},
        {vmx::MSR_VMX_ENTRY_CTLS, vmx::MSR_VMX_TRUE_ENTRY_CTLS, vmx::ENTRY_DEFAULT1},
    };
    for (const Pair& p : pairs) {
      const uint64_t a = cap(k, p.plain), t = cap(k, p.tru);
      const uint32_t a0 = uint32_t(a), a1 = uint32_t(a >> 32), t0 = uint32_t(t), t1 = uint32_t(t >> 32);
      CHECK((a0 & ~a1) == 0);
      CHECK((t0 & ~t1) == 0);
      CHECK(a0 == p.default1);
      CHECK((t0 & ~a0) == 0);  // TRUE must-be-1 bits are a subset
      CHECK(a1 == t1);          // same allowed-1 settings
      CHECK((a1 & p.default1) == p.default1);
    }
    // Secondary controls exist because the primary "activate secondary" may be 1.
    const uint64_t proc = cap(k, vmx::MSR_VMX_PROCBASED_CTLS);
    REQUIRE((proc >> 32) & vmx::CPU_SECONDARY_CONTROLS);
    const uint64_t proc2 = cap(k, vmx::MSR_VMX_PROCBASED_CTLS2);
    CHECK(uint32_t(proc2) == 0);
    // EPT/VPID capabilities exist with EPT or VPID; walk length 4, WB, INVEPT types.
    const uint64_t ev = cap(k, vmx::MSR_VMX_EPT_VPID_CAP);
    CHECK(ev & vmx::EPT_CAP_WALK_4);
    CHECK(ev & vmx::EPT_CAP_MT_WB);
    if (ev & vmx::EPT_CAP_INVEPT) CHECK(ev & (vmx::EPT_CAP_INVEPT_SINGLE | vmx::EPT_CAP_INVEPT_ALL));
    if (ev & vmx::VPID_CAP_INVVPID) CHECK(ev & (vmx::VPID_CAP_SINGLE | vmx::VPID_CAP_ALL));
    // VM functions with "enable VM functions"; EPTP switching needs EPT.
    const uint64_t vf = cap(k, vmx::MSR_VMX_VMFUNC);
    CHECK(vf == vmx::VMFUNC_EPTP_SWITCHING);
    // CR fixed bits: FIXED0 within FIXED1; PE, NE, PG and VMXE fixed to 1.
    const uint64_t c0f0 = cap(k, vmx::MSR_VMX_CR0_FIXED0), c0f1 = cap(k, vmx::MSR_VMX_CR0_FIXED1);
    const uint64_t c4f0 = cap(k, vmx::MSR_VMX_CR4_FIXED0), c4f1 = cap(k, vmx::MSR_VMX_CR4_FIXED1);
    CHECK((c0f0 & ~c0f1) == 0);
    CHECK((c4f0 & ~c4f1) == 0);
    CHECK(c0f0 == (isa::CR0_PE | isa::CR0_NE | isa::CR0_PG));
    CHECK(c4f0 == isa::CR4_VMXE);
    // LA57 may be 1 exactly on models with 5-level paging.
    uint32_t r7[4];
    m->cpuid_leaf(7, 0, r7);
    CHECK(bool(c4f1 & isa::CR4_LA57) == bool(r7[2] & (1u << 16)));
    // MISC: the preemption timer rate, activity states, CR3 targets, MSR-list size.
    const uint64_t misc = cap(k, vmx::MSR_VMX_MISC);
    CHECK((misc & 0x1F) == 5);
    CHECK(((misc >> 16) & 0x1FF) == 4);
    CHECK(k.max_msr_list() == 512);
    // No tertiary controls: 0x492 does not exist, nor anything beyond.
    uint64_t v;
    CHECK(!vmx::read_cap_msr(k, vmx::MSR_VMX_PROCBASED_CTLS3, v));
    CHECK(!vmx::read_cap_msr(k, 0x493, v));
    CHECK(!((proc >> 32) & (1u << 17)));
  }
}

TEST_CASE("Capability MSRs follow the feature set", "[caps]") {
  VmxCaps k = sim::default_cpu_model().vmx;
  uint64_t v;
  VmxCaps no_sec = k;
  no_sec.proc &= ~uint32_t(vmx::CPU_SECONDARY_CONTROLS);
  CHECK(!vmx::read_cap_msr(no_sec, vmx::MSR_VMX_PROCBASED_CTLS2, v));
  CHECK(!vmx::read_cap_msr(no_sec, vmx::MSR_VMX_EPT_VPID_CAP, v));  // no EPT, no VPID
  CHECK(!vmx::read_cap_msr(no_sec, vmx::MSR_VMX_VMFUNC, v));
  VmxCaps no_vmfunc = k;
  no_vmfunc.proc2 &= ~uint32_t(vmx::CPU2_VMFUNC);
  CHECK(!vmx::read_cap_msr(no_vmfunc, vmx::MSR_VMX_VMFUNC, v));
  CHECK(!no_vmfunc.has(vmx::Feature::EPTP_SWITCHING));
  CHECK(k.has(vmx::Feature::EPTP_SWITCHING));
}
