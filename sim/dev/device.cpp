#include "sim/dev/device.h"

#include <cassert>
#include <cstdio>

namespace sim {

Device::Device(DeviceContext& ctx, std::string name, std::vector<std::string> regs)
    : ctx_(ctx),
      name_(std::move(name)),
      regs_(std::move(regs)),
      reads_(regs_.size()),
      writes_(regs_.size()) {}

void Device::note(Space s, uint64_t addr, unsigned reg, bool write, unsigned size,
                  uint64_t value) {
  assert(reg < regs_.size());
  if (reg >= regs_.size()) reg = unsigned(regs_.size() - 1);
  (write ? writes_ : reads_)[reg]++;
  if (!ctx_.tracing()) return;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s.%s %s 0x%llx (%s 0x%llx, %u byte%s)", name_.c_str(),
                regs_[reg].c_str(), write ? "w" : "r", static_cast<unsigned long long>(value),
                s == Space::kPort ? "port" : "mmio+", static_cast<unsigned long long>(addr), size,
                size == 1 ? "" : "s");
  ctx_.trace("dev", buf);
}

void Device::count(unsigned reg, bool write, uint64_t value) {
  if (reg >= regs_.size()) reg = unsigned(regs_.size() - 1);
  (write ? writes_ : reads_)[reg]++;
  if (!ctx_.tracing()) return;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s.%s %s 0x%llx", name_.c_str(), regs_[reg].c_str(),
                write ? "w" : "r", static_cast<unsigned long long>(value));
  ctx_.trace("dev", buf);
}

void Device::trace(std::string_view kind, std::string_view detail) const {
  if (!ctx_.tracing()) return;
  std::string s = name_;
  s += ": ";
  s += detail;
  ctx_.trace(kind, s);
}

uint32_t Device::port_in(uint16_t port, unsigned size) {
  const unsigned reg = reg_of(Space::kPort, port, false);
  const uint32_t v = uint32_t(io_read(Space::kPort, port, size));
  note(Space::kPort, port, reg, false, size, v);
  return v;
}

void Device::port_out(uint16_t port, unsigned size, uint32_t value) {
  note(Space::kPort, port, reg_of(Space::kPort, port, true), true, size, value);
  io_write(Space::kPort, port, size, value);
}

uint64_t Device::mmio_read(uint64_t offset, unsigned size) {
  const unsigned reg = reg_of(Space::kMmio, offset, false);
  const uint64_t v = io_read(Space::kMmio, offset, size);
  note(Space::kMmio, offset, reg, false, size, v);
  return v;
}

void Device::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  note(Space::kMmio, offset, reg_of(Space::kMmio, offset, true), true, size, value);
  io_write(Space::kMmio, offset, size, value);
}

}  // namespace sim
