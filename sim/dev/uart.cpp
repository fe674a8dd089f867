#include "sim/dev/uart.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "sim/dev/irq.h"

namespace sim {

namespace {
// IIR interrupt identification (PC16550D Table IV), bits 3:0.
constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirRxData = 0x04,
                  kIirTimeout = 0x0C, kIirThre = 0x02, kIirModem = 0x00;
// IER bits.
constexpr uint8_t kIerRxData = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04, kIerModem = 0x08;
// LSR bits.
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrBi = 0x10, kLsrErrors = 0x1E,
                  kLsrThre = 0x20, kLsrTemt = 0x40, kLsrFifoErr = 0x80;
// MCR bits.
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08;
// MSR bits 7:4 (inputs) and their delta bits 3:0.
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
}  // namespace

Uart16550::Uart16550(DeviceContext& ctx, std::string name, unsigned isa_irq, std::FILE* out)
    : Device(ctx, name,
             {"rbr", "thr", "ier", "iir", "fcr", "lcr", "mcr", "lsr", "msr", "scr", "dll", "dlm"}),
      isa_irq_(isa_irq),
      out_(out) {
  tx_timer_ = ctx.events->add(name + ".tx", [this](uint64_t due) { tx_done(due); });
  rx_timer_ = ctx.events->add(name + ".rx", [this](uint64_t due) { rx_line_event(due); });
  timeout_timer_ =
      ctx.events->add(name + ".rx_timeout", [this](uint64_t due) { rx_timeout_event(due); });
  reset();
}

void Uart16550::reset() {
  ctx_.events->cancel(tx_timer_);
  ctx_.events->cancel(rx_timer_);
  ctx_.events->cancel(timeout_timer_);
  ier_ = lcr_ = fcr_ = scr_ = 0;
  mcr_ = kMcrOut2;  // as QEMU's `pc` leaves it (header)
  divisor_ = 12;
  msr_delta_ = lsr_errors_ = 0;
  lsr_fifo_err_ = false;
  rbr_ = 0;
  tx_head_ = tx_count_ = 0;
  tsr_busy_ = false;
  tx_end_tick_ = 0;
  thri_pending_ = false;
  rx_head_ = rx_count_ = 0;
  rx_end_tick_ = 0;
  timeout_pending_ = false;
  update_irq();
  rx_line_kick(ctx_.now());  // the far end keeps its queued input across a reset
}

// ---------------------------------------------------------------------------------
// Clocking: 16 clocks of 1.8432 MHz / divisor per bit (datasheet "Programmable Baud
// Generator"); LCR bits 1:0 word length 5-8, bit 2 stop bits (1.5 with 5-bit words,
// else 2), bit 3 parity enable. Counted in half bits for the 1.5 stop bits.
uint64_t Uart16550::char_ticks() const {
  const uint64_t word = 5 + (lcr_ & 3);
  const uint64_t parity = (lcr_ >> 3) & 1;
  const uint64_t stop_halves = (lcr_ & 4) ? (word == 5 ? 3 : 4) : 2;
  const uint64_t halves = 2 * (1 + word + parity) + stop_halves;
  const uint64_t div = divisor_ ? divisor_ : 65536;
  return halves * 8 * div;
}

uint64_t Uart16550::char_cycles() const { return ctx_.cycle_of_tick(char_ticks(), kClockHz); }

uint64_t Uart16550::first_tick_at_or_after(uint64_t cycle) const {
  uint64_t t = ctx_.ticks_at(cycle, kClockHz);
  if (ctx_.cycle_of_tick(t, kClockHz) < cycle) t++;
  return t;
}

unsigned Uart16550::rx_trigger() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};  // FCR bits 7:6
  return kLevels[fcr_ >> 6];
}

// ---------------------------------------------------------------------------------
// Register dispatch.

unsigned Uart16550::reg_of(Space, uint64_t addr, bool write) const {
  const bool dlab = lcr_ & 0x80;
  switch (addr & 7) {
    case 0: return dlab ? kDll : (write ? kThr : kRbr);
    case 1: return dlab ? kDlm : kIer;
    case 2: return write ? kFcr : kIir;
    case 3: return kLcr;
    case 4: return kMcr;
    case 5: return kLsr;
    case 6: return kMsr;
    default: return kScr;
  }
}

uint64_t Uart16550::io_read(Space, uint64_t addr, unsigned size) {
  return split_read(addr & 7, size,
                    [this](uint64_t off) { return off < 8 ? read_reg(unsigned(off)) : uint8_t(0xFF); });
}

void Uart16550::io_write(Space, uint64_t addr, unsigned size, uint64_t value) {
  split_write(addr & 7, size, value, [this](uint64_t off, uint8_t b) {
    if (off < 8) write_reg(unsigned(off), b);
  });
}

uint8_t Uart16550::read_reg(unsigned off) {
  const bool dlab = lcr_ & 0x80;
  switch (off) {
    case 0: return dlab ? uint8_t(divisor_) : read_rbr();
    case 1: return dlab ? uint8_t(divisor_ >> 8) : ier_;
    case 2: return read_iir();
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: return read_lsr();
    case 6: {
      // Reading MSR clears the delta bits and the modem status interrupt.
      const uint8_t v = modem_inputs() | msr_delta_;
      msr_delta_ = 0;
      update_irq();
      return v;
    }
    default: return scr_;
  }
}

void Uart16550::write_reg(unsigned off, uint8_t v) {
  const bool dlab = lcr_ & 0x80;
  switch (off) {
    case 0:
      if (dlab) divisor_ = uint16_t((divisor_ & 0xFF00) | v);
      else write_thr(v);
      break;
    case 1:
      if (dlab) {
        divisor_ = uint16_t((divisor_ & 0x00FF) | (v << 8));
      } else {
        // IER bits 7:4 are always 0. ETBEI 0 -> 1 with the THR empty raises the THRE
        // interrupt at once (Linux's serial8250_startup THRE test relies on it).
        const uint8_t old = ier_;
        ier_ = v & 0x0F;
        if (!(old & kIerThre) && (ier_ & kIerThre) && tx_count_ == 0) thri_pending_ = true;
        update_irq();
      }
      break;
    case 2: write_fcr(v); break;
    case 3: lcr_ = v; break;  // the break bit (6) only affects the SOUT pin
    case 4: write_mcr(v); break;
    case 7: scr_ = v; break;
    default: break;  // LSR (factory test) and MSR writes have no effect
  }
}

// ---------------------------------------------------------------------------------
// Status registers and the interrupt logic.

uint8_t Uart16550::lsr_now() const {
  uint8_t v = lsr_errors_;
  if (rx_count_) v |= kLsrDr;
  if (tx_count_ == 0) v |= kLsrThre;
  if (tx_count_ == 0 && !tsr_busy_) v |= kLsrTemt;
  if (fifo_mode() && lsr_fifo_err_) v |= kLsrFifoErr;
  return v;
}

uint8_t Uart16550::read_lsr() {
  const uint8_t v = lsr_now();
  // Reading LSR clears OE/PE/FE/BI; bit 7 only if no erroneous character is left.
  lsr_errors_ = 0;
  bool left = false;
  for (unsigned i = 0; i < rx_count_; i++) left |= rx_fifo_[(rx_head_ + i) % kFifo].brk;
  lsr_fifo_err_ = left;
  update_irq();
  return v;
}

uint8_t Uart16550::pending_iir() const {
  if ((ier_ & kIerLineStatus) && (lsr_errors_ & kLsrErrors)) return kIirLineStatus;
  if (ier_ & kIerRxData) {
    if (fifo_mode() ? rx_count_ >= rx_trigger() : rx_count_ > 0) return kIirRxData;
    if (timeout_pending_) return kIirTimeout;
  }
  if ((ier_ & kIerThre) && thri_pending_) return kIirThre;
  if ((ier_ & kIerModem) && msr_delta_) return kIirModem;
  return kIirNone;
}

uint8_t Uart16550::read_iir() {
  const uint8_t id = pending_iir();
  // Reading IIR clears the THRE interrupt when it is the one reported (Table IV).
  if (id == kIirThre) {
    thri_pending_ = false;
    update_irq();
  }
  return uint8_t(id | (fifo_mode() ? 0xC0 : 0));
}

void Uart16550::update_irq() {
  // A PC serial card drives IRQ through a buffer enabled by OUT2; in loopback the chip
  // holds OUT2 inactive, so no interrupt reaches the PIC.
  const bool level = pending_iir() != kIirNone && (mcr_ & kMcrOut2) && !loopback();
  if (level == irq_level_) return;
  irq_level_ = level;
  if (ctx_.irq) ctx_.irq->set_isa_irq(isa_irq_, level);
  if (ctx_.tracing()) trace("irq", level ? "IRQ line high" : "IRQ line low");
}

// ---------------------------------------------------------------------------------
// Modem control and status.

uint8_t Uart16550::modem_inputs() const {
  if (!loopback()) return kMsrCts | kMsrDsr | kMsrDcd;  // a connected terminal
  uint8_t v = 0;  // datasheet "Loopback": RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD
  if (mcr_ & kMcrRts) v |= kMsrCts;
  if (mcr_ & kMcrDtr) v |= kMsrDsr;
  if (mcr_ & kMcrOut1) v |= kMsrRi;
  if (mcr_ & kMcrOut2) v |= kMsrDcd;
  return v;
}

void Uart16550::update_modem(uint8_t old) {
  const uint8_t now = modem_inputs(), changed = old ^ now;
  if (changed & kMsrCts) msr_delta_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_delta_ |= kMsrDdsr;
  if ((old & kMsrRi) && !(now & kMsrRi)) msr_delta_ |= kMsrTeri;  // trailing edge only
  if (changed & kMsrDcd) msr_delta_ |= kMsrDdcd;
}

void Uart16550::write_mcr(uint8_t v) {
  const uint8_t old_inputs = modem_inputs();
  const bool was_loop = loopback();
  mcr_ = v & 0x1F;  // bits 7:5 are always 0
  update_modem(old_inputs);
  if (was_loop != loopback()) rx_line_kick(ctx_.now());  // SIN is (dis)connected
  update_irq();
}

// ---------------------------------------------------------------------------------
// FIFO control.

void Uart16550::rx_clear() {
  rx_head_ = rx_count_ = 0;
  timeout_pending_ = false;
  lsr_fifo_err_ = false;
  ctx_.events->cancel(timeout_timer_);
}

void Uart16550::tx_clear() {
  if (tx_count_) thri_pending_ = true;  // the FIFO is now empty
  tx_head_ = tx_count_ = 0;
}

void Uart16550::write_fcr(uint8_t v) {
  const bool was_fifo = fifo_mode();
  const bool fifo = v & 1;
  if (was_fifo != fifo) {
    // Changing FCR0 clears both FIFOs (not the shift registers), and the first
    // transmitter interrupt after it is immediate (datasheet FCR bit 0, "FIFO
    // Interrupt Mode Operation").
    rx_clear();
    tx_clear();
    thri_pending_ = true;
  }
  // The other bits are only programmed together with FCR0 = 1.
  fcr_ = fifo ? uint8_t(v & 0xC9) : 0;
  if (fifo && (v & 2)) rx_clear();  // self-clearing reset bits
  if (fifo && (v & 4)) tx_clear();
  rx_line_kick(ctx_.now());
  update_irq();
}

// ---------------------------------------------------------------------------------
// Transmitter.

void Uart16550::emit(uint8_t byte) {
  bytes_out++;
  if (!out_) return;
  std::fputc(byte, out_);
  if (byte == '\n') {
    std::fflush(out_);
    unflushed_ = false;
  } else {
    unflushed_ = true;
  }
}

void Uart16550::write_thr(uint8_t v) {
  thri_pending_ = false;
  if (tx_count_ >= tx_capacity()) {
    tx_dropped++;
    update_irq();
    return;
  }
  tx_fifo_[(tx_head_ + tx_count_) % kFifo] = {v, loopback()};
  tx_count_++;
  if (!loopback()) emit(v);
  // The line drops now and rises again if the byte moves on into the shift register
  // (an edge for the PIC, as on the chip).
  update_irq();
  if (!tsr_busy_) tx_start(first_tick_at_or_after(ctx_.now()));
}

void Uart16550::tx_start(uint64_t start_tick) {
  if (tx_count_ == 0) return;
  tsr_ = tx_fifo_[tx_head_];
  tx_head_ = (tx_head_ + 1) % kFifo;
  tx_count_--;
  tsr_busy_ = true;
  if (tx_count_ == 0) thri_pending_ = true;
  if (tx_paced_) {
    tx_end_tick_ = start_tick + char_ticks();
    ctx_.events->schedule(tx_timer_, ctx_.cycle_of_tick(tx_end_tick_, kClockHz));
    update_irq();
  } else {
    tx_end_tick_ = start_tick;
    update_irq();
    tx_done(ctx_.now());
  }
}

void Uart16550::tx_done(uint64_t due) {
  tsr_busy_ = false;
  if (tsr_.loop) rx_receive({tsr_.byte, false}, due);
  if (tx_count_) {
    tx_start(tx_end_tick_);  // back to back with the character that just left
  } else if (unflushed_ && out_ && tx_paced_) {
    // The line went idle: show a prompt that has no newline (unpaced, this would be a
    // flush per byte; there the terminal poll flushes).
    std::fflush(out_);
    unflushed_ = false;
  }
  update_irq();
}

// ---------------------------------------------------------------------------------
// Receiver.

void Uart16550::rx_top_changed() {
  // FIFO mode reveals a character's BI (PE, FE) when it reaches the top of the FIFO.
  if (rx_count_ && rx_fifo_[rx_head_].brk) lsr_errors_ |= kLsrBi;
}

void Uart16550::rx_receive(RxChar c, uint64_t at) {
  bytes_in++;
  if (rx_count_ >= rx_capacity()) {
    // Overrun: in FIFO mode the character in the shift register is lost; in 16450
    // mode it overwrites RBR (datasheet LSR bit 1).
    lsr_errors_ |= kLsrOe;
    rx_overruns++;
    if (!fifo_mode()) {
      rx_fifo_[rx_head_] = c;
      rx_top_changed();
    }
  } else {
    rx_fifo_[(rx_head_ + rx_count_) % kFifo] = c;
    rx_count_++;
    if (c.brk) lsr_fifo_err_ = true;
    if (rx_count_ == 1) rx_top_changed();
  }
  rx_activity(at);
  update_irq();
}

uint8_t Uart16550::read_rbr() {
  if (rx_count_ == 0) return rbr_;  // an empty RBR keeps its last character
  rbr_ = rx_fifo_[rx_head_].byte;
  rx_head_ = (rx_head_ + 1) % kFifo;
  rx_count_--;
  // A CPU read clears the timeout indication and restarts its timer.
  timeout_pending_ = false;
  rx_activity(ctx_.now());
  rx_top_changed();
  rx_line_kick(ctx_.now());  // room for the sender again
  update_irq();
  return rbr_;
}

void Uart16550::rx_activity(uint64_t at) {
  // Character timeout: FIFO mode, data in the FIFO, and nothing received or read for
  // 4 character times (datasheet "FIFO Interrupt Mode Operation").
  if (fifo_mode() && rx_count_)
    ctx_.events->schedule(timeout_timer_, at + ctx_.cycle_of_tick(4 * char_ticks(), kClockHz));
  else
    ctx_.events->cancel(timeout_timer_);
}

void Uart16550::rx_timeout_event(uint64_t) {
  if (!fifo_mode() || rx_count_ == 0) return;
  timeout_pending_ = true;
  update_irq();
}

void Uart16550::set_input(std::FILE* in, bool interactive) {
  in_ = in;
  interactive_ = interactive;
  in_eof_ = in == nullptr;
  rx_line_kick(ctx_.now());
}

void Uart16550::feed(std::string_view bytes) {
  for (char c : bytes) line_.push_back(uint8_t(c));
  rx_line_kick(ctx_.now());
}

void Uart16550::send_break() {
  line_.push_back(-1);
  rx_line_kick(ctx_.now());
}

void Uart16550::rx_line_kick(uint64_t at) {
  if (ctx_.events->armed(rx_timer_)) return;
  if (loopback() || rx_count_ >= rx_capacity()) return;  // disconnected / flow control
  if (line_.empty() && (!in_ || in_eof_)) return;
  // The next character needs a whole character time on the line.
  const uint64_t start = std::max(rx_end_tick_, first_tick_at_or_after(at));
  rx_end_tick_ = start + char_ticks();
  ctx_.events->schedule(rx_timer_, ctx_.cycle_of_tick(rx_end_tick_, kClockHz));
}

void Uart16550::rx_poll_interactive() {
  if (unflushed_ && out_) {  // a prompt the user should see before typing
    std::fflush(out_);
    unflushed_ = false;
  }
  // Non-blocking: whatever the terminal has now (not reproducible, see the header).
  const int fd = fileno(in_);
  if (fd < 0) {
    in_eof_ = true;
    return;
  }
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return;
  if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) return;
  uint8_t buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n == 0 || !(p.revents & POLLIN)) in_eof_ = true;
    return;
  }
  line_.insert(line_.end(), buf, buf + n);
}

bool Uart16550::rx_line_next(RxChar* c) {
  if (line_.empty() && in_ && !in_eof_) {
    if (interactive_) {
      rx_poll_interactive();
    } else {
      const int ch = std::fgetc(in_);
      if (ch == EOF) in_eof_ = true;
      else line_.push_back(ch);
    }
  }
  if (line_.empty()) return false;
  const int v = line_.front();
  line_.pop_front();
  *c = {uint8_t(v < 0 ? 0 : v), v < 0};
  return true;
}

void Uart16550::rx_line_event(uint64_t due) {
  RxChar c;
  if (!loopback() && rx_count_ < rx_capacity() && rx_line_next(&c)) rx_receive(c, due);
  rx_line_kick(due);
}

}  // namespace sim
