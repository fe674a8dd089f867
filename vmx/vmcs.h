// The VMCS (SDM Vol. 3C chapter 24): the field table (vmx/vmcs_fields.def) expanded,
// the encoding rules of 24.11.2, and the storage of one VMCS.
//
// Storage. A VMCS the processor works on (current, or active and cached) is a Vmcs:
// one 64-bit slot per field, indexed by vmx::Field, plus the header (revision id,
// shadow indicator, abort indicator) and the launch state. Its 4 KiB region in guest
// memory holds the same content in this layout (every offset little-endian):
//     0   revision identifier (bits 30:0) and shadow-VMCS indicator (bit 31)
//     4   VMX-abort indicator
//     8   launch state: 0 clear, 1 launched
//    16   field i at 16 + 8 * i, in table order (kFieldCount fields)
// Vmcs::store writes a VMCS back to its region (VMCLEAR, eviction from the processor's
// cache) and Vmcs::load reads one (VMPTRLD), so a region copied byte for byte after
// VMCLEAR loads with the same values (24.11.1 lets the format be ours). Software must
// not change an active VMCS's region behind the processor's back (24.11.1); nestsim
// then keeps using the cached copy, as hardware may.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "vmx/caps.h"

namespace vmx {

enum class Field : uint16_t {
#define VMCS_FIELD(name, enc, width, type, feature, flags) name,
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
  kCount
};
constexpr unsigned kFieldCount = unsigned(Field::kCount);

// Encoding bits 14:13 and 11:10 (24.11.2).
enum class Width : uint8_t { W16 = 0, W64 = 1, W32 = 2, WN = 3 };
enum class FieldType : uint8_t { CTL = 0, RO = 1, GUEST = 2, HOST = 3 };
enum : uint8_t { FIELD_SH = 1 };  // flags column

struct FieldInfo {
  uint32_t encoding;
  Width width;
  FieldType type;
  Feature feature;
  uint8_t flags;
  const char* name;
};

const FieldInfo& field_info(Field f);
inline const char* field_name(Field f) { return field_info(f).name; }

// Value mask of a field's width (natural width is 64 bits on this processor).
constexpr uint64_t width_mask(Width w) {
  return w == Width::W16 ? 0xFFFF : w == Width::W32 ? 0xFFFFFFFF : ~0ull;
}
// The same per field, inline for Vmcs::set (VM exits write ~60 fields).
inline constexpr uint64_t kFieldMask[] = {
#define VMCS_FIELD(name, enc, width, type, feature, flags) width_mask(Width::width),
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};
// What a store to a field invalidates when it changes the value (Vmcs::set): the cached
// outcome of the 26.2 checks (control and host-state fields), of the 26.3.1 guest-state
// checks (guest-state fields but RIP, RSP and RFLAGS), or, for RFLAGS, the latter when a
// bit other than the arithmetic flags and DF changes (no check looks at those; RIP is
// checked at every entry, RSP never).
enum : uint8_t { kGenNone = 0, kGenCtlHost = 1, kGenGuest = 2, kGenRflags = 3 };
constexpr uint64_t kRflagsUnchecked = 0xCD5;  // CF, PF, AF, ZF, SF, DF, OF
constexpr uint8_t field_gen(Field f, FieldType t) {
  return f == Field::GUEST_RIP || f == Field::GUEST_RSP ? kGenNone
         : f == Field::GUEST_RFLAGS                     ? kGenRflags
         : t == FieldType::CTL || t == FieldType::HOST  ? kGenCtlHost
         : t == FieldType::GUEST                        ? kGenGuest
                                                        : kGenNone;
}
inline constexpr uint8_t kFieldGen[] = {
#define VMCS_FIELD(name, enc, width, type, feature, flags) field_gen(Field::name, FieldType::type),
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};

// Decodes a VMREAD/VMWRITE operand (24.11.2): the field it names and whether it is the
// high half of a 64-bit field (access type 1). Fails (false) for encodings with bits
// 63:15 or 12 set, for unknown encodings, for access type 1 on a field that is not
// 64-bit, and for fields of features `caps` lacks: all VMfailValid(12).
struct FieldRef {
  Field field;
  bool high;
};
bool lookup_field(const VmxCaps& caps, uint64_t encoding, FieldRef& out);
// The same with the capabilities reduced to one bit per Feature (feature_mask(caps)),
// which VMREAD and VMWRITE keep instead of asking VmxCaps::has for every access.
uint32_t feature_mask(const VmxCaps& caps);
// Encoding bits 14:0, access type included -> field index + 1, 0 where lookup_field
// fails whatever the capabilities (no such field, bit 12 set, access type 1 of a field
// that is not 64-bit); and each field's feature.
extern const std::array<uint16_t, 1u << 15> kFieldIndex15;
inline constexpr Feature kFieldFeature[] = {
#define VMCS_FIELD(name, enc, width, type, feature, flags) Feature::feature,
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};
inline bool lookup_field(uint32_t features, uint64_t encoding, FieldRef& out) {
  if (encoding & ~0x6FFFull) return false;  // bits 63:15 and 12 (24.11.2)
  const uint16_t i = kFieldIndex15[encoding];
  if (!i || !((features >> unsigned(kFieldFeature[i - 1])) & 1)) return false;
  out.field = Field(i - 1);
  out.high = encoding & 1;
  return true;
}

// The guest-state fields of ES, CS, SS, DS, FS, GS (in isa::Seg order), which VM entry
// loads and VM exit saves together (24.4.1).
struct GuestSegmentFields {
  Field selector, base, limit, ar;
};
inline constexpr GuestSegmentFields kGuestSegments[6] = {
    {Field::GUEST_ES_SELECTOR, Field::GUEST_ES_BASE, Field::GUEST_ES_LIMIT, Field::GUEST_ES_AR_BYTES},
    {Field::GUEST_CS_SELECTOR, Field::GUEST_CS_BASE, Field::GUEST_CS_LIMIT, Field::GUEST_CS_AR_BYTES},
    {Field::GUEST_SS_SELECTOR, Field::GUEST_SS_BASE, Field::GUEST_SS_LIMIT, Field::GUEST_SS_AR_BYTES},
    {Field::GUEST_DS_SELECTOR, Field::GUEST_DS_BASE, Field::GUEST_DS_LIMIT, Field::GUEST_DS_AR_BYTES},
    {Field::GUEST_FS_SELECTOR, Field::GUEST_FS_BASE, Field::GUEST_FS_LIMIT, Field::GUEST_FS_AR_BYTES},
    {Field::GUEST_GS_SELECTOR, Field::GUEST_GS_BASE, Field::GUEST_GS_LIMIT, Field::GUEST_GS_AR_BYTES},
};

// The layout of a VMCS region (see the top of this file).
constexpr uint64_t kVmcsRegionSize = 4096;
constexpr uint64_t kVmcsLaunchOffset = 8;
constexpr uint64_t kVmcsFieldsOffset = 16;
static_assert(kVmcsFieldsOffset + 8 * kFieldCount <= kVmcsRegionSize);

// What Vmcs::load/store use to reach the region (physical memory of the machine).
class PhysAccess {
 public:
  virtual ~PhysAccess() = default;
  virtual void phys_read(uint64_t pa, void* dst, size_t n) = 0;
  virtual void phys_write(uint64_t pa, const void* src, size_t n) = 0;
};

struct Vmcs {
  uint64_t pa = ~0ull;         // the region's physical address
  uint32_t revision = 0;       // bits 30:0 of the header
  bool shadow = false;         // shadow-VMCS indicator
  uint32_t abort = 0;
  bool launched = false;
  uint64_t v[kFieldCount] = {};
  // Bumped by every store that changes a field of their class (kFieldGen) and by
  // load(): the checks passed at generation g hold again while it is still g
  // (vmx/entry.cpp). VM exits store two control fields, usually unchanged: the
  // "IA-32e mode guest" control and the valid bit of the VM-entry interruption
  // information; and the guest state, which changes little in a typical exit.
  uint64_t ctl_host_gen = 1;
  uint64_t guest_gen = 1;

  uint64_t get(Field f) const { return v[unsigned(f)]; }
  // Stores the value truncated to the field's width.
  void set(Field f, uint64_t value) {
    const unsigned i = unsigned(f);
    const uint64_t x = value & kFieldMask[i], changed = v[i] ^ x;
    v[i] = x;
    if (changed) {
      const uint8_t g = kFieldGen[i];
      if (g == kGenCtlHost) ctl_host_gen++;
      else if (g == kGenGuest || (g == kGenRflags && (changed & ~kRflagsUnchecked))) guest_gen++;
    }
  }
  // Stores of guest-state fields that bump guest_gen once for the lot, when any of the
  // values changed: the generations are only ever compared for equality (entry.cpp),
  // so one bump stands for several. VM exits store ~40 such fields, nearly all unchanged.
  class GuestStores {
   public:
    explicit GuestStores(Vmcs& v) : v_(v) {}
    template <Field F>
    void set(uint64_t value) {
      static_assert(kFieldGen[unsigned(F)] == kGenGuest, "not a guest_gen field");
      constexpr unsigned i = unsigned(F);
      const uint64_t x = value & kFieldMask[i];
      changed_ |= v_.v[i] ^ x;
      v_.v[i] = x;
    }
    void done() {
      if (changed_) v_.guest_gen++;
      changed_ = 0;
    }
   private:
    Vmcs& v_;
    uint64_t changed_ = 0;
  };
  // The secondary processor-based controls as they apply: 0 unless the primary
  // "activate secondary controls" is 1 (24.6.2).
  uint32_t secondary_controls() const {
    return (v[unsigned(Field::CPU_BASED_VM_EXEC_CONTROL)] & (1u << 31))
               ? uint32_t(v[unsigned(Field::SECONDARY_VM_EXEC_CONTROL)]) : 0;
  }

  void load(PhysAccess& m, uint64_t region);
  void store(PhysAccess& m) const;
};

// The default VMREAD and VMWRITE bitmaps for VMCS shadowing (24.6.15): 4 KiB each, a
// bit set = the access exits. Fields with the SH flag are clear (shadowed), except
// that read-only fields stay set in the VMWRITE bitmap unless IA32_VMX_MISC[29].
void default_shadow_bitmap(const VmxCaps& caps, bool write, uint8_t out[4096]);

}  // namespace vmx
