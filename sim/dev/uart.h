// A National Semiconductor PC16550D UART (the PC's COM ports), in simulated time.
//
// Registers (datasheet Table II; offset = port & 7, DLAB = LCR bit 7):
//   +0  r RBR / w THR          (DLAB=1: DLL, divisor latch low)
//   +1  IER, bits 3:0          (DLAB=1: DLM, divisor latch high)
//   +2  r IIR / w FCR          (FCR whatever DLAB is)
//   +3  LCR   +4 MCR (bits 4:0)   +5 LSR   +6 MSR   +7 SCR
//
// Time. The line runs at 1.8432 MHz / (16 * divisor) bits per second (datasheet
// "Programmable Baud Generator"; divisor 0 counts as 65536, the 16-bit counter
// wrapping). A character takes 1 start bit + 5..8 data bits + parity + 1, 1.5 or 2
// stop bits (LCR). Both directions are events on the machine's EventQueue at exact
// ticks of that clock, so the guest sees LSR.THRE/TEMT, the receive FIFO filling and
// every interrupt at the cycle a real chip at that baud rate would produce them.
//
// Transmit. A THR write goes into the 16-byte transmit FIFO (FIFO mode) or the
// holding register (16450 mode) and, if the shift register is idle, moves on at once;
// the shift register empties one character time later (TEMT). The host output sees
// each byte when the guest writes it (so nothing is lost when a guest writes its last
// line and stops the machine at once); it is flushed at a newline, when a paced
// transmitter goes idle and before each poll of an interactive input (so a prompt
// shows); the owner flushes it at the end of a run. A write to a full FIFO/THR is lost, as on the chip (counted
// in tx_dropped). In loopback (MCR.LOOP) the shift register's output goes to the
// receiver instead of the host (datasheet "Loopback"); each byte goes one way or the
// other, by the mode when the guest wrote it.
//
// Receive. Characters come from feed() (queued first) and then from the input FILE.
// They cross the line one character time apart and only while the receiver has room
// (a line with flow control: no overrun from the host side; overrun (OE) arises only
// in loopback, where the sender ignores the receiver). A file input is deterministic:
// the same file gives the same characters at the same cycles. An interactive input
// (a terminal on stdin) is polled without blocking once per character time, and what
// arrives when depends on the host: interactive runs are not reproducible. (The
// terminal's mode, raw or canonical, is the caller's business; the device reads the
// descriptor directly, bypassing the FILE's buffer.) A non-interactive pipe is read
// like a file: the simulation waits for its writer, and the bytes are reproducible.
// The line never produces parity or framing errors; send_break() delivers a break.
//
// Interrupts (datasheet Table IV), highest first: receiver line status (OE/PE/FE/BI;
// cleared by reading LSR) > received data available (FIFO at its trigger level, or
// DR in 16450 mode; cleared below it) = character timeout (FIFO mode: data in the FIFO
// and no character in or out for 4 character times; cleared by reading RBR) >
// THR empty (cleared by reading IIR when it is the reported source, or by writing THR;
// set when the THR/FIFO becomes empty and, as Linux's 8250 driver relies on, when
// IER.ETBEI goes 0 -> 1 with THR empty) > modem status (cleared by reading MSR).
// IIR bits 7:6 read 11 with the FIFOs enabled. The interrupt line reaching the PIC is
// INTR gated by MCR.OUT2 as on a PC's serial card, and forced off in loopback (the
// datasheet forces the OUT2 pin inactive there); it is driven through
// IrqRouter::set_isa_irq() only when it changes.
//
// Modem lines: the far end is a connected terminal (CTS, DSR, DCD on, RI off); in
// loopback MSR bits 7:4 mirror MCR OUT2, OUT1, DTR, RTS (DCD, RI, DSR, CTS) with the
// delta bits tracking every change (TERI on RI 1 -> 0).
//
// Power-on state: datasheet reset values except MCR = OUT2 and divisor 12 (9600
// baud), the state QEMU's `pc` presents after firmware, which guests written for it
// rely on (they enable UART interrupts without setting OUT2).
//
// Odd access sizes: a 2- or 4-byte access is split into byte accesses at consecutive
// offsets (as QEMU's serial port does); bytes beyond +7 read 0xFF and are ignored.
// Not modelled: DMA mode pins (FCR bit 3 is accepted and has no effect), the
// datasheet's one-character delay of the first THRE after a single-byte burst, the
// break the transmitter sends in loopback while LCR bit 6 is set (the bit reads back
// and has no other effect).
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <string_view>

#include "sim/dev/device.h"

namespace sim {

class Uart16550 final : public Device {
 public:
  // Register names (reg_names() indices), for statistics and traces.
  enum Reg : unsigned { kRbr, kThr, kIer, kIir, kFcr, kLcr, kMcr, kLsr, kMsr, kScr, kDll, kDlm };

  // The uart is `name` (e.g. "uart0") on ISA IRQ `isa_irq`; output goes to `out`
  // (null: discarded). Add it to the machine's port map at base..base+7.
  Uart16550(DeviceContext& ctx, std::string name, unsigned isa_irq, std::FILE* out);

  void set_output(std::FILE* out) { out_ = out; }
  // The receive line's source. `interactive`: `in` is a terminal polled without
  // blocking (its fileno must be valid); otherwise it is read as a file, one byte per
  // character time, until EOF. Null: nothing connected (only feed() data arrives).
  void set_input(std::FILE* in, bool interactive);
  // Queues bytes on the receive line, ahead of the input FILE.
  void feed(std::string_view bytes);
  // Queues a break condition on the receive line (one character time of spacing).
  void send_break();
  // Transmit pacing. Paced (the default): a character occupies the shift register
  // for its datasheet time, and a guest polling LSR.THRE waits that long in simulated
  // time. Unpaced: the line is infinitely fast, as on QEMU (THR empties at once; a
  // polled console at 9600 baud costs no guest time). Receive is always paced.
  void set_tx_paced(bool paced) { tx_paced_ = paced; }

  void reset() override;

  uint64_t bytes_out = 0;    // bytes transmitted to the host (not in loopback)
  uint64_t bytes_in = 0;     // characters received (from the line or looped back)
  uint64_t tx_dropped = 0;   // THR writes lost to a full FIFO/THR
  uint64_t rx_overruns = 0;  // characters lost to receiver overrun (LSR.OE)

  // Read-only views for tests and statistics.
  uint8_t line_status() const { return lsr_now(); }
  bool irq_line() const { return irq_level_; }
  // Cycles one character takes with the current LCR and divisor.
  uint64_t char_cycles() const;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  static constexpr unsigned kFifo = 16;
  static constexpr uint64_t kClockHz = 1'843'200;  // the PC's UART crystal
  struct RxChar {
    uint8_t byte;
    bool brk;
  };
  struct TxChar {
    uint8_t byte;
    bool loop;  // written in loopback: goes to the receiver, not the host
  };

  uint8_t read_reg(unsigned off);
  void write_reg(unsigned off, uint8_t v);
  uint8_t read_iir();
  uint8_t read_lsr();
  uint8_t read_rbr();
  void write_thr(uint8_t v);
  void write_fcr(uint8_t v);
  void write_mcr(uint8_t v);

  bool fifo_mode() const { return fcr_ & 1; }
  bool loopback() const { return mcr_ & 0x10; }
  unsigned rx_capacity() const { return fifo_mode() ? kFifo : 1; }
  unsigned tx_capacity() const { return fifo_mode() ? kFifo : 1; }
  unsigned rx_trigger() const;
  uint64_t char_ticks() const;  // of the 1.8432 MHz clock
  uint64_t first_tick_at_or_after(uint64_t cycle) const;

  // Transmitter: load the shift register from the FIFO (at tick `start`).
  void tx_start(uint64_t start_tick);
  void tx_done(uint64_t due);
  // Receiver: a character (or break) arrives from the shift register at cycle `at`.
  void rx_receive(RxChar c, uint64_t at);
  void rx_line_event(uint64_t due);
  void rx_line_kick(uint64_t at);  // arms the line event if something can arrive
  bool rx_line_next(RxChar* c);
  void rx_poll_interactive();
  void rx_timeout_event(uint64_t due);
  void rx_activity(uint64_t at);  // restarts the 4-character timeout
  void rx_top_changed();
  void rx_clear();
  void tx_clear();

  uint8_t modem_inputs() const;  // MSR bits 7:4
  void update_modem(uint8_t old_inputs);
  uint8_t lsr_now() const;
  uint8_t pending_iir() const;  // bits 3:0 of IIR for the highest pending source
  void update_irq();
  void emit(uint8_t byte);

  unsigned isa_irq_;
  std::FILE* out_;
  std::FILE* in_ = nullptr;
  bool interactive_ = false;
  bool tx_paced_ = true;
  bool unflushed_ = false;
  bool in_eof_ = false;
  std::deque<int> line_;  // queued line input: a byte, or -1 for a break

  // Registers.
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, fcr_ = 0;
  uint16_t divisor_ = 12;
  uint8_t msr_delta_ = 0;     // MSR bits 3:0
  uint8_t lsr_errors_ = 0;    // sticky OE/PE/FE/BI (bits 4:1)
  bool lsr_fifo_err_ = false; // LSR bit 7
  uint8_t rbr_ = 0;           // last character read (what RBR returns when empty)

  // Transmitter.
  std::array<TxChar, kFifo> tx_fifo_{};
  unsigned tx_head_ = 0, tx_count_ = 0;
  bool tsr_busy_ = false;
  TxChar tsr_{};
  uint64_t tx_end_tick_ = 0;
  bool thri_pending_ = false;

  // Receiver.
  std::array<RxChar, kFifo> rx_fifo_{};
  unsigned rx_head_ = 0, rx_count_ = 0;
  uint64_t rx_end_tick_ = 0;
  bool timeout_pending_ = false;

  bool irq_level_ = false;
  EventQueue::Id tx_timer_, rx_timer_, timeout_timer_;
};

}  // namespace sim
