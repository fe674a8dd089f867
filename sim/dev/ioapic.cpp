#include "sim/dev/ioapic.h"

#include <cstdio>

#include "sim/dev/lapic.h"

namespace sim {

namespace {

// Statistics names: IOREGSEL, then the register IOWIN reaches (by IOREGSEL), then
// the accesses that address nothing.
enum Reg : unsigned {
  kRegSel = 0, kRegId, kRegVer, kRegArb, kRegRedir0,
  kRegWinOther = kRegRedir0 + 2 * IoApic::kPins, kRegInvalid,
};

std::vector<std::string> ioapic_reg_names() {
  std::vector<std::string> n = {"ioregsel", "id", "version", "arb"};
  for (unsigned i = 0; i < IoApic::kPins; i++) {
    n.push_back("redir" + std::to_string(i) + "_lo");
    n.push_back("redir" + std::to_string(i) + "_hi");
  }
  n.push_back("win_other");
  n.push_back("invalid");
  return n;
}

constexpr unsigned kDmFixed = 0, kDmLowest = 1;

}  // namespace

IoApic::IoApic(DeviceContext& ctx, LocalApic* lapic)
    : Device(ctx, "ioapic", ioapic_reg_names()), lapic_(lapic) {
  reset();
}

void IoApic::reset() {
  sel_ = 0;
  id_ = 0;
  redir_.fill(kMasked);  // 82093AA 3.2.4: masked at reset
}

unsigned IoApic::reg_of(Space s, uint64_t addr, bool) const {
  if (s != Space::kMmio) return kRegInvalid;
  if (addr < 4) return kRegSel;
  if (addr < 0x10 || addr >= 0x14) return kRegInvalid;
  switch (sel_) {
    case 0x00: return kRegId;
    case 0x01: return kRegVer;
    case 0x02: return kRegArb;
    default:
      if (sel_ >= 0x10 && sel_ < 0x10 + 2 * kPins) return kRegRedir0 + (sel_ - 0x10);
      return kRegWinOther;
  }
}

uint64_t IoApic::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kMmio) return ~0ull;
  uint32_t v = 0;
  if (addr < 4) v = uint32_t(sel_) >> (8 * addr);
  else if (addr >= 0x10 && addr < 0x14) v = read_window() >> (8 * (addr - 0x10));
  return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void IoApic::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kMmio) return;
  if (size < 4) value &= (1ull << (8 * size)) - 1;
  if (addr == 0) sel_ = uint8_t(value);
  else if (addr == 0x10) write_window(uint32_t(value));
}

uint32_t IoApic::read_window() const {
  switch (sel_) {
    case 0x00: return id_ << 24;
    case 0x01: return kVersion;
    case 0x02: return id_ << 24;  // arbitration ID: loaded from the ID
    default:
      if (sel_ >= 0x10 && sel_ < 0x10 + 2 * kPins) {
        const uint64_t e = redir_[(sel_ - 0x10) / 2];
        return (sel_ & 1) ? uint32_t(e >> 32) : uint32_t(e);
      }
      return 0;
  }
}

void IoApic::write_window(uint32_t v) {
  if (sel_ == 0x00) {
    id_ = (v >> 24) & 0xF;
    return;
  }
  if (sel_ < 0x10 || sel_ >= 0x10 + 2 * kPins) return;  // version, arbitration: read-only
  const unsigned pin = (sel_ - 0x10) / 2;
  uint64_t& e = redir_[pin];
  const uint64_t keep = e & (kStatus | kRemoteIrr);
  uint64_t nv = (sel_ & 1) ? (uint64_t(v) << 32) | (e & 0xFFFFFFFFull)
                           : (e & 0xFFFFFFFF00000000ull) | v;
  e = (nv & kWritable) | keep;
  if (!(e & kLevel)) e &= ~kRemoteIrr;  // an edge entry has no Remote-IRR (QEMU)
  if (ctx_.tracing()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "redir%u = 0x%016llx", pin, static_cast<unsigned long long>(e));
    trace("irq", buf);
  }
  service(pin);  // unmasking or reprogramming an asserted level line delivers
}

bool IoApic::uses_remote_irr(unsigned pin) const {
  const unsigned dm = (redir_[pin] >> 8) & 7;
  return (redir_[pin] & kLevel) && (dm == kDmFixed || dm == kDmLowest);
}

void IoApic::set_pin(unsigned pin, bool level) {
  if (pin >= kPins) return;
  const bool was = asserted(pin);
  level_[pin] = level;
  const bool now = asserted(pin);
  if (uses_remote_irr(pin)) {
    service(pin);
  } else if (now && !was && !(redir_[pin] & kMasked)) {
    send(pin);  // the assert edge; lost if masked
  }
}

void IoApic::service(unsigned pin) {
  if (!uses_remote_irr(pin)) return;
  const uint64_t e = redir_[pin];
  if ((e & kMasked) || (e & kRemoteIrr) || !asserted(pin)) return;
  redir_[pin] |= kRemoteIrr;
  send(pin);
}

void IoApic::eoi(uint8_t vector) {
  // Every level entry in service with this vector (several pins may share one).
  for (unsigned pin = 0; pin < kPins; pin++) {
    if (!(redir_[pin] & kRemoteIrr) || uint8_t(redir_[pin]) != vector) continue;
    redir_[pin] &= ~kRemoteIrr;
    service(pin);  // still asserted: deliver again
  }
}

void IoApic::send(unsigned pin) {
  const uint64_t e = redir_[pin];
  const bool logical = e & (1ull << 11);
  uint32_t dest = uint32_t(e >> 56);
  if (dest == 0xFF && lapic_ && lapic_->x2apic()) dest = 0xFFFFFFFF;  // broadcast
  if (!lapic_ || !lapic_->matches(dest, logical)) {
    dropped_++;
    if (redir_[pin] & kRemoteIrr) redir_[pin] &= ~kRemoteIrr;  // nobody will EOI it
    return;
  }
  delivered_[pin]++;
  if (ctx_.tracing()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "pin %u -> vector 0x%02x", pin, unsigned(uint8_t(e)));
    trace("irq", buf);
  }
  lapic_->accept(uint8_t(e), unsigned(e >> 8) & 7, uses_remote_irr(pin), true);
}

}  // namespace sim
