#include "sim/devices.h"

namespace sim {

uint32_t Uart::port_in(uint16_t port, unsigned size) {
  switch (port & 7) {
    case 0: return (lcr_ & 0x80) ? dll_ : 0;   // RBR: no receive path yet
    case 1: return (lcr_ & 0x80) ? dlm_ : ier_;
    case 2: return 0x01;                       // IIR: no interrupt pending
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: return 0x60;                       // LSR: THRE | TEMT
    case 6: return 0xB0;                       // MSR: DCD | DSR | CTS
    default: return scr_;
  }
}

void Uart::port_out(uint16_t port, unsigned size, uint32_t value) {
  uint8_t v = uint8_t(value);
  switch (port & 7) {
    case 0:
      if (lcr_ & 0x80) {
        dll_ = v;
      } else {
        std::fputc(v, out_);
        bytes_out++;
        if (v == '\n') std::fflush(out_);
      }
      break;
    case 1:
      if (lcr_ & 0x80) dlm_ = v; else ier_ = v & 0x0F;
      break;
    case 3: lcr_ = v; break;
    case 4: mcr_ = v & 0x1F; break;
    case 7: scr_ = v; break;
    default: break;
  }
}

uint32_t ExitPorts::port_in(uint16_t, unsigned size) {
  return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

void ExitPorts::port_out(uint16_t port, unsigned size, uint32_t value) {
  if (port >= 0xF4 && port <= 0xF7) {
    stop_(false, value);
    return;
  }
  // 0x8900: the bytes "Shutdown" written in sequence power the machine off.
  static const char kMagic[] = "Shutdown";
  char ch = char(value);
  shutdown_ = (ch == kMagic[shutdown_.size()]) ? shutdown_ + ch : (ch == 'S' ? "S" : "");
  if (shutdown_ == kMagic) {
    shutdown_.clear();
    stop_(true, 0);
  }
}

}  // namespace sim
