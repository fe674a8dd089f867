#include "sim/dev/pci.h"

#include <algorithm>
#include <cstdio>

namespace sim {

// --- PciFunction -------------------------------------------------------------------

PciFunction::PciFunction(uint16_t vendor, uint16_t device, uint8_t revision,
                         uint32_t class_code, uint8_t header_type) {
  // PCI 3.0 6.2.1: Vendor ID, Device ID, Revision ID, Class Code and Header Type are
  // read-only; Command and Status are defined by each function.
  define(0x00, 2, vendor);
  define(0x02, 2, device);
  define(0x08, 1, revision);
  define(0x09, 3, class_code & 0xFF'FFFF);
  define(0x0E, 1, header_type);
}

void PciFunction::define(unsigned offset, unsigned size, uint32_t value, uint32_t wmask,
                         uint32_t w1c) {
  for (unsigned i = 0; i < size && i < 4 && offset + i < 256; i++) {
    const unsigned o = offset + i, sh = 8 * i;
    reset_[o] = cfg_[o] = uint8_t(value >> sh);
    wmask_[o] = uint8_t(wmask >> sh);
    w1c_[o] = uint8_t(w1c >> sh);
  }
}

uint32_t PciFunction::read(unsigned offset, unsigned size) const {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; i++)
    v |= uint32_t(offset + i < 256 ? cfg_[offset + i] : 0xFF) << (8 * i);
  return v;
}

void PciFunction::write_byte(unsigned o, uint8_t v) {
  // Writable bits take the new value; status bits written with 1 clear (PCI 3.0
  // 6.2.3: "writes can clear bits but not set them").
  cfg_[o] = uint8_t((cfg_[o] & ~wmask_[o]) | (v & wmask_[o]));
  cfg_[o] &= uint8_t(~(v & w1c_[o]));
}

void PciFunction::write(unsigned offset, unsigned size, uint32_t value) {
  if (offset >= 256) return;
  unsigned n = 0;
  for (; n < size && offset + n < 256; n++) write_byte(offset + n, uint8_t(value >> (8 * n)));
  config_written(offset, n);
}

// --- I440fxPmc ---------------------------------------------------------------------

I440fxPmc::I440fxPmc() : PciFunction(kVendor, kDevice, kRevision, 0x06'00'00, 0x00) {
  // 82441FX datasheet 3.2 (register summary):
  //   PCICMD (04h) 0006h: memory access (bit 1) and bus master (bit 2) are hard-wired
  //   on; PERR# response (bit 6) and SERR# enable (bit 8) are read/write; the rest 0.
  define(0x04, 2, 0x0006, 0x0140);
  //   PCISTS (06h) 0280h: fast back-to-back capable (bit 7), DEVSEL# medium (bits
  //   10:9 = 01); the error bits (8, 11-15) are write-1-to-clear. No capability list.
  define(0x06, 2, 0x0280, 0, 0xF900);
  //   MLT (0Dh) 00h: master latency timer, bits 7:3 read/write.
  define(0x0D, 1, 0x00, 0xF8);
  // 10h-3Fh are reserved on this chip (no BARs, no subsystem IDs: it predates their
  // being required) and read 0; CLS, BIST and the interrupt registers likewise.
  //   PMCCFG (50h), DETURBO (51h), DBC (52h), DRT (53h), DRAMR (54h), DRAMC (57h),
  //   DRAMT (58h): memory controller configuration, plain storage.
  define(0x50, 4, 0, 0xFFFF'FFFF);
  define(0x54, 1, 0, 0xFF);
  define(0x57, 2, 0, 0xFFFF);
  //   PAM0-PAM6 (59h-5Fh): read/write enables of the 0xC0000-0xFFFFF segments; bits
  //   2 and 6 (cache enable on older chips) and 3 and 7 are reserved.
  for (unsigned i = 0x59; i <= 0x5F; i++) define(i, 1, 0, 0x33);
  //   DRB0-DRB7 (60h-67h) DRAM row boundaries, FDHC (68h), MTT (70h), CLT (71h).
  define(0x60, 4, 0, 0xFFFF'FFFF);
  define(0x64, 4, 0, 0xFFFF'FFFF);
  define(0x68, 1, 0, 0xC0);
  define(0x70, 2, 0, 0xFFFF);
  //   SMRAM (72h) 02h: bits 2:0 hard-wired to 010b (C_BASE_SEG = A0000h); G_SMRAME
  //   (bit 3), D_LCK (4), D_CLS (5), D_OPEN (6) read/write. No SMM: no effect.
  define(0x72, 1, 0x02, 0x78);
  // Everything else (the error reporting registers 90h-91h, TRC at 93h, whose reset
  // bits would need a reset path of their own) reads 0 and ignores writes.
}

// --- PciHost -----------------------------------------------------------------------

PciHost::PciHost(DeviceContext& ctx)
    : Device(ctx, "pci", {"config_address", "config_data", "other"}) {
  add_function(0, 0, 0, std::make_unique<I440fxPmc>());
}

void PciHost::add_function(unsigned bus, unsigned device, unsigned function,
                           std::unique_ptr<PciFunction> f) {
  functions_[key(bus, device, function)] = std::move(f);
}

PciFunction* PciHost::function(unsigned bus, unsigned device, unsigned function) const {
  auto it = functions_.find(key(bus, device, function));
  return it == functions_.end() ? nullptr : it->second.get();
}

void PciHost::reset() {
  config_address_ = 0;
  for (auto& [k, f] : functions_) f->reset();
}

PciFunction* PciHost::selected() const {
  if (!(config_address_ & 0x8000'0000u)) return nullptr;
  const uint32_t a = config_address_;
  return function((a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 7);
}

unsigned PciHost::reg_of(Space s, uint64_t addr, bool) const {
  if (s != Space::kPort) return kRegOther;
  if (addr >= kConfigAddress && addr < kConfigAddress + 4) return kRegConfigAddress;
  if (addr >= kConfigData && addr < kConfigData + 4) return kRegConfigData;
  return kRegOther;
}

uint64_t PciHost::io_read(Space s, uint64_t addr, unsigned size) {
  const uint32_t ones = size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
  if (s != Space::kPort) return ones;
  if (addr == kConfigAddress && size == 4) return config_address_;
  if (addr < kConfigData || addr >= kConfigData + 4) return ones;
  // CONFIG_DATA: the bytes of the access that fall inside 0xCFC-0xCFF are
  // configuration bytes of the selected function; the rest are not ours.
  const unsigned lane = unsigned(addr - kConfigData);
  const unsigned n = std::min(size, 4 - lane);
  const PciFunction* f = selected();
  const uint32_t v = f ? f->read((config_address_ & 0xFC) + lane, n) : ones;
  trace_config(false, lane, n, v, f != nullptr);
  return v | (ones & ~uint32_t((1ull << (8 * n)) - 1));
}

void PciHost::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort) return;
  if (addr == kConfigAddress && size == 4) {
    config_address_ = uint32_t(value) & kAddressMask;
    return;
  }
  if (addr < kConfigData || addr >= kConfigData + 4) return;
  const unsigned lane = unsigned(addr - kConfigData);
  const unsigned n = std::min(size, 4 - lane);
  PciFunction* f = selected();
  trace_config(true, lane, n, uint32_t(value), f != nullptr);
  if (f) f->write((config_address_ & 0xFC) + lane, n, uint32_t(value));
}

void PciHost::trace_config(bool write, unsigned lane, unsigned size, uint32_t value,
                           bool present) const {
  if (!ctx_.tracing()) return;
  const uint32_t a = config_address_;
  char buf[96];
  std::snprintf(buf, sizeof buf, "config %02x:%02x.%u+0x%02x %s 0x%x (%u byte%s)%s",
                (a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 7, (a & 0xFC) + lane,
                write ? "w" : "r", value & uint32_t((1ull << (8 * size)) - 1), size,
                size == 1 ? "" : "s",
                !(a & 0x8000'0000u) ? ": disabled" : present ? "" : ": no function");
  trace("dev", buf);
}

}  // namespace sim
