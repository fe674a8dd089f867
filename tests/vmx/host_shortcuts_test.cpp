// The host-side shortcuts of the VMX paths (docs/VMX.md "Host-side shortcuts that
// change no outcome"): each is checked against the plain computation it replaces.
#include <catch2/catch.hpp>

#include <cstdint>

#include "sim/cpu_model.h"
#include "tests/vmx/vmx_rig.h"
#include "vmx/caps.h"
#include "vmx/controls.h"
#include "vmx/vmcs.h"

namespace {

using vmx::Field;
using vmx::VmxCaps;

// lookup_field as 24.11.2 states it, field by field, with VmxCaps::has.
bool reference_lookup(const VmxCaps& caps, uint64_t enc, vmx::FieldRef& out) {
  if (enc >> 15 || (enc & (1u << 12))) return false;
  for (unsigned i = 0; i < vmx::kFieldCount; i++) {
    const vmx::FieldInfo& f = vmx::field_info(Field(i));
    if (f.encoding != (enc & ~1ull)) continue;
    if ((enc & 1) && f.width != vmx::Width::W64) return false;
    if (!caps.has(f.feature)) return false;
    out = {Field(i), bool(enc & 1)};
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("VMCS field lookup by table equals the field-by-field rule", "[vmcs][shortcut]") {
  const VmxCaps full = sim::default_cpu_model().vmx;
  VmxCaps no_sec = full;
  no_sec.proc &= ~uint32_t(vmx::CPU_SECONDARY_CONTROLS);
  VmxCaps no_ept = full;
  no_ept.proc2 &= ~uint32_t(vmx::CPU2_EPT);
  VmxCaps bare = full;
  bare.pin = bare.proc2 = 0;
  bare.proc &= ~uint32_t(vmx::CPU_SECONDARY_CONTROLS | vmx::CPU_TPR_SHADOW | vmx::CPU_USE_MSR_BITMAPS);
  bare.entry = bare.exit = 0;
  const VmxCaps* const sets[] = {&full, &no_sec, &no_ept, &bare};
  for (const VmxCaps* k : sets) {
    const uint32_t mask = vmx::feature_mask(*k);
    for (uint64_t enc = 0; enc < 0x10000; enc++) {
      vmx::FieldRef a{}, b{}, c{};
      const bool ra = reference_lookup(*k, enc, a);
      const bool rb = vmx::lookup_field(mask, enc, b);
      const bool rc = vmx::lookup_field(*k, enc, c);
      INFO("encoding " << enc);
      REQUIRE(ra == rb);
      REQUIRE(ra == rc);
      if (ra) {
        CHECK(a.field == b.field);
        CHECK(a.high == b.high);
      }
    }
    vmx::FieldRef r{};
    CHECK(!vmx::lookup_field(mask, 1ull << 32 | 0x681E, r));
    CHECK(!vmx::lookup_field(mask, ~0ull, r));
  }
}

TEST_CASE("Vmcs::GuestStores: one guest_gen bump when a value changed, none else", "[vmcs][shortcut]") {
  vmx::Vmcs v;
  v.set(Field::GUEST_CR0, 0x80000031);
  v.set(Field::GUEST_ES_SELECTOR, 0x10);
  const uint64_t g0 = v.guest_gen, c0 = v.ctl_host_gen;
  {
    vmx::Vmcs::GuestStores g(v);
    g.set<Field::GUEST_CR0>(0x80000031);
    g.set<Field::GUEST_ES_SELECTOR>(0x10);
    g.done();
  }
  CHECK(v.guest_gen == g0);
  {
    // Values are truncated to the field's width, as Vmcs::set does: a 16-bit selector
    // with bits above 15 is unchanged.
    vmx::Vmcs::GuestStores g(v);
    g.set<Field::GUEST_ES_SELECTOR>(0x10010);
    g.done();
  }
  CHECK(v.get(Field::GUEST_ES_SELECTOR) == 0x10);
  CHECK(v.guest_gen == g0);
  {
    vmx::Vmcs::GuestStores g(v);
    g.set<Field::GUEST_CR0>(0x80000033);
    g.set<Field::GUEST_ES_SELECTOR>(0x18);
    g.set<Field::GUEST_GS_BASE>(0x1234);
    g.done();
  }
  CHECK(v.get(Field::GUEST_CR0) == 0x80000033);
  CHECK(v.get(Field::GUEST_ES_SELECTOR) == 0x18);
  CHECK(v.get(Field::GUEST_GS_BASE) == 0x1234);
  CHECK(v.guest_gen != g0);
  CHECK(v.ctl_host_gen == c0);
  // done() starts a new batch: a later unchanged batch bumps nothing.
  const uint64_t g1 = v.guest_gen;
  {
    vmx::Vmcs::GuestStores g(v);
    g.set<Field::GUEST_CR0>(0x80000033);
    g.done();
    g.set<Field::GUEST_CR0>(0x80000033);
    g.done();
  }
  CHECK(v.guest_gen == g1);
}

// VM exits skip storing the segment and descriptor-table fields when the registers
// are byte for byte those the VMCS's unchanged fields were saved from, and VM entries
// copy the registers the same fields gave last time (Vmx::saved_, loaded_). A guest
// that changes a segment register, and a host that writes a segment field, must each
// be seen on the other side; so must the exits after that change nothing (exit 5). The
// host state loaded by exits is likewise reused only while no host field changed
// (Vmx::host_): a VMWRITE of the host's FS base takes effect at the next exit; and the
// view of non-root operation (Vmx::view_) while no control field changed.
TEST_CASE("VMX: segment state across exits and entries with the saved/loaded images",
          "[vmx][shortcut]") {
  using namespace vmxrig;
  constexpr uint64_t kMarker = 0x206000;
  const std::string host = std::string(kHostPrologue) + R"(
exit_handler:
  inc r15
)" + std::string(kAdvanceGuestRip) + R"(
  cmp r15, 1
  je .stage1
  cmp r15, 2
  je .stage2
  cmp r15, 3
  je .stage3
  cmp r15, 6
  je done
.stage45:                ; exits 4 (ES changed) and 5 (nothing did): ES is null again
  mov r11, [fs:0]        ; through the host FS base of stage 3
  mov eax, 0x0800
  vmread rbx, rax
  test ebx, ebx
  jnz fail
  mov eax, 0x4814
  vmread rbx, rax
  bt ebx, 16
  jnc fail
  mov eax, 0x680E
  vmread rbx, rax
  cmp rbx, 0x206000
  jne fail
  vmresume
  jmp fail
.stage1:                 ; the guest's FS as entered; FS base := kMarker
  mov eax, 0x0808        ; GUEST_FS_SELECTOR
  vmread rbx, rax
  cmp ebx, 0x10
  jne fail
  mov eax, 0x680E        ; GUEST_FS_BASE
  mov ebx, 0x206000
  vmwrite rax, rbx
  vmresume
  jmp fail
.stage2:                 ; the guest loaded a null ES: unusable; ES := 0x10 again
  mov eax, 0x0800        ; GUEST_ES_SELECTOR
  vmread rbx, rax
  test ebx, ebx
  jnz fail
  mov eax, 0x4814        ; GUEST_ES_AR_BYTES
  vmread rbx, rax
  bt ebx, 16
  jnc fail
  mov eax, 0x0800
  mov ebx, 0x10
  vmwrite rax, rbx
  mov eax, 0x4814
  mov ebx, 0xC093
  vmwrite rax, rbx
  mov eax, 0x4800        ; GUEST_ES_LIMIT
  mov ebx, 0xFFFFFFFF
  vmwrite rax, rbx
  mov eax, 0x6806        ; GUEST_ES_BASE
  xor ebx, ebx
  vmwrite rax, rbx
  vmresume
  jmp fail
.stage3:                 ; nothing changed since: the fields hold what stages 1-2 left;
                         ; the host's own FS base := kMarker + 16 from the next exit on
  mov eax, 0x6C06        ; HOST_FS_BASE
  mov ebx, 0x206010
  vmwrite rax, rbx
  mov eax, 0x6000        ; CR0_GUEST_HOST_MASK: TS is the host's
  mov ebx, 8
  vmwrite rax, rbx
  mov eax, 0x6004        ; CR0_READ_SHADOW: the guest reads TS = 1
  vmwrite rax, rbx
  mov eax, 0x680E
  vmread rbx, rax
  cmp rbx, 0x206000
  jne fail
  mov eax, 0x0800
  vmread rbx, rax
  cmp ebx, 0x10
  jne fail
  mov eax, 0x4814
  vmread rbx, rax
  cmp ebx, 0xC093
  jne fail
  vmresume
  jmp fail
guest:
  mov eax, 1
  cpuid                  ; exit 1
  mov r8, [fs:0]         ; the marker, through the FS base the host wrote
  xor eax, eax
  mov es, ax
  mov eax, 1
  cpuid                  ; exit 2
  mov r9w, es
  mov rdi, cr0
  mov eax, 1
  cpuid                  ; exit 3
  mov r12, cr0
  mov r10, [fs:8]
  xor eax, eax
  mov es, ax
  mov eax, 1
  cpuid                  ; exit 4
  mov eax, 1
  cpuid                  ; exit 5
  mov eax, 1
  cpuid                  ; exit 6: done
  jmp guest
)" + kHostEnds + kHostData;
  CHECK(enc(Field::GUEST_FS_SELECTOR) == 0x0808);
  CHECK(enc(Field::GUEST_FS_BASE) == 0x680E);
  CHECK(enc(Field::GUEST_ES_SELECTOR) == 0x0800);
  CHECK(enc(Field::GUEST_ES_AR_BYTES) == 0x4814);
  CHECK(enc(Field::GUEST_ES_LIMIT) == 0x4800);
  CHECK(enc(Field::GUEST_ES_BASE) == 0x6806);
  CHECK(enc(Field::HOST_FS_BASE) == 0x6C06);
  CHECK(enc(Field::CR0_GUEST_HOST_MASK) == 0x6000);
  CHECK(enc(Field::CR0_READ_SHADOW) == 0x6004);
  systest::Rig r;
  r.m.reset_long_mode(kCode, kHostStack);
  load(r, baseline_fields(r.cpu(), r.m.vmx().caps(), r.cpu().cr3), host);
  r.w64(kMarker, 0x1122334455667788);
  r.w64(kMarker + 8, 0x99AABBCCDDEEFF00);
  r.w64(kMarker + 16, 0x0F0E0D0C0B0A0908);
  r.run(100000);
  const isa::Cpu& c = r.cpu();
  INFO("r13 (rflags at failure) = " << std::hex << c.r[isa::R13] << ", stage " << c.r[isa::R15]);
  REQUIRE(c.r[isa::R14] == 0x600d);
  CHECK(c.r[isa::R15] == 6);
  CHECK(c.r[isa::R8] == 0x1122334455667788);
  CHECK((c.r[isa::R9] & 0xFFFF) == 0x10);
  CHECK(c.r[isa::R10] == 0x99AABBCCDDEEFF00);
  CHECK(c.r[isa::R11] == 0x0F0E0D0C0B0A0908);
  CHECK(!(c.r[isa::RDI] & isa::CR0_TS));  // the view of non-root operation (set_view)
  CHECK((c.r[isa::R12] & isa::CR0_TS));   // follows a VMWRITE of the CR0 read shadow
}
