#include "vmx/vmcs.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "vmx/controls.h"

namespace vmx {
namespace {

constexpr FieldInfo kFields[] = {
#define VMCS_FIELD(name, enc, width, type, feature, flags) \
  {enc, Width::width, FieldType::type, Feature::feature, flags, #name},
#define SH FIELD_SH
#include "vmx/vmcs_fields.def"
#undef SH
#undef VMCS_FIELD
};
static_assert(sizeof(kFields) / sizeof(kFields[0]) == kFieldCount);

// The table's width and type columns must agree with the encoding's bits 14:13 and
// 11:10, and access type (bit 0) is always 0 in the table (24.11.2).
constexpr bool table_consistent() {
  for (const FieldInfo& f : kFields) {
    if (((f.encoding >> 13) & 3) != unsigned(f.width)) return false;
    if (((f.encoding >> 10) & 3) != unsigned(f.type)) return false;
    if (f.encoding & 1) return false;
    if (f.encoding & ~0x6FFFu) return false;  // bits 12 and 15+ are reserved
  }
  return true;
}
static_assert(table_consistent(), "vmcs_fields.def: width/type columns disagree with encodings");

constexpr bool encodings_unique() {
  for (unsigned i = 0; i < kFieldCount; i++)
    for (unsigned j = i + 1; j < kFieldCount; j++)
      if (kFields[i].encoding == kFields[j].encoding) return false;
  return true;
}
static_assert(encodings_unique(), "vmcs_fields.def: an encoding appears twice");

}  // namespace

const FieldInfo& field_info(Field f) { return kFields[unsigned(f)]; }

uint32_t feature_mask(const VmxCaps& caps) {
  uint32_t m = 0;
  for (unsigned f = 0; f <= unsigned(Feature::EFER); f++)
    if (caps.has(Feature(f))) m |= 1u << f;
  return m;
}

namespace {
constexpr std::array<uint16_t, 1u << 15> build_index15() {
  std::array<uint16_t, 1u << 15> t{};
  for (unsigned i = 0; i < kFieldCount; i++) {
    t[kFields[i].encoding] = uint16_t(i + 1);
    if (kFields[i].width == Width::W64) t[kFields[i].encoding | 1] = uint16_t(i + 1);
  }
  return t;
}
}  // namespace

constexpr std::array<uint16_t, 1u << 15> kFieldIndex15 = build_index15();

bool lookup_field(const VmxCaps& caps, uint64_t encoding, FieldRef& out) {
  return lookup_field(feature_mask(caps), encoding, out);
}

uint64_t VmxCaps::vmcs_enum() const {
  unsigned max = 0;
  for (const FieldInfo& f : kFields)
    if (has(f.feature)) max = std::max(max, unsigned((f.encoding >> 1) & 0x1FF));
  return uint64_t(max) << 1;
}

void Vmcs::load(PhysAccess& m, uint64_t region) {
  uint8_t buf[kVmcsFieldsOffset + 8 * kFieldCount];
  m.phys_read(region, buf, sizeof buf);
  uint32_t hdr, ab;
  std::memcpy(&hdr, buf, 4);
  std::memcpy(&ab, buf + 4, 4);
  pa = region;
  ctl_host_gen++;
  guest_gen++;
  revision = hdr & ~VMCS_SHADOW_INDICATOR;
  shadow = hdr & VMCS_SHADOW_INDICATOR;
  abort = ab;
  launched = buf[kVmcsLaunchOffset] == 1;
  // Values are masked to their width: a region written by software (not by VMCLEAR)
  // can hold anything, and a VMREAD must still return a value the field can hold.
  for (unsigned i = 0; i < kFieldCount; i++) {
    uint64_t x;
    std::memcpy(&x, buf + kVmcsFieldsOffset + 8 * i, 8);
    v[i] = x & width_mask(kFields[i].width);
  }
}

void Vmcs::store(PhysAccess& m) const {
  uint8_t buf[kVmcsFieldsOffset + 8 * kFieldCount] = {};
  const uint32_t hdr = revision | (shadow ? uint32_t(VMCS_SHADOW_INDICATOR) : 0u);
  std::memcpy(buf, &hdr, 4);
  std::memcpy(buf + 4, &abort, 4);
  buf[kVmcsLaunchOffset] = launched ? 1 : 0;
  std::memcpy(buf + kVmcsFieldsOffset, v, 8 * kFieldCount);
  m.phys_write(pa, buf, sizeof buf);
}

void default_shadow_bitmap(const VmxCaps& caps, bool write, uint8_t out[4096]) {
  std::memset(out, 0xFF, 4096);
  for (const FieldInfo& f : kFields) {
    if (!(f.flags & FIELD_SH) || !caps.has(f.feature)) continue;
    if (write && f.type == FieldType::RO && !(caps.misc & MISC_VMWRITE_ANY)) continue;
    // The bitmaps are indexed by encoding bits 14:0 (24.6.15); a 64-bit field's high
    // half (encoding | 1) is shadowed with it.
    for (uint32_t e : {f.encoding, f.encoding | 1}) {
      if ((e & 1) && f.width != Width::W64) continue;
      out[(e & 0x7FFF) >> 3] &= uint8_t(~(1u << (e & 7)));
    }
  }
}

}  // namespace vmx
