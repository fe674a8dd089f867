// The 16550A against the PC16550D datasheet and what Linux's 8250 driver checks.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "sim/dev/uart.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

constexpr uint16_t kBase = 0x3F8;
enum : unsigned { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct UartRig {
  test::DevRig rig;
  std::FILE* out = std::tmpfile();
  Uart16550 u{rig.ctx, "uart0", 4, out};
  ~UartRig() { std::fclose(out); }
  uint8_t in(unsigned off) { return uint8_t(u.port_in(uint16_t(kBase + off), 1)); }
  void put(unsigned off, uint8_t v) { u.port_out(uint16_t(kBase + off), 1, v); }
  std::string output() {
    std::fflush(out);
    std::string s;
    std::rewind(out);
    for (int c; (c = std::fgetc(out)) != EOF;) s += char(c);
    return s;
  }
  bool irq() const { return rig.pic_pins.level[4]; }
  unsigned irq_rises() const { return rig.pic_pins.rises[4]; }
  // 8N1 at 115200 baud (divisor 1).
  void fast_8n1() {
    put(LCR, 0x80);
    put(0, 1);
    put(1, 0);
    put(LCR, 0x03);
  }
  uint64_t ct() const { return u.char_cycles(); }
  // The cycle at which k 8N1 characters at 115200 baud have crossed the line, for a
  // stream that starts at cycle 0 (160 ticks of 1.8432 MHz per character).
  uint64_t at(uint64_t k) const { return rig.ctx.cycle_of_tick(k * 160, 1843200); }
  // Enough time for k characters from now (plus alignment to the baud clock).
  void settle(uint64_t k) { rig.advance(k * ct() + 2000); }
};

}  // namespace

TEST_CASE("uart: power-on state", "[uart]") {
  UartRig r;
  CHECK(r.in(LSR) == 0x60);  // THRE | TEMT
  CHECK(r.in(IIR) == 0x01);
  CHECK(r.in(IER) == 0x00);
  CHECK(r.in(LCR) == 0x00);
  CHECK(r.in(MCR) == 0x08);  // OUT2, as QEMU's pc leaves it
  CHECK(r.in(MSR) == 0xB0);  // DCD | DSR | CTS, no deltas
  r.put(LCR, 0x80);
  CHECK(r.in(0) == 12);  // 9600 baud
  CHECK(r.in(1) == 0);
  CHECK(!r.irq());
}

TEST_CASE("uart: Linux autoconfig probes (scratch, IER, loopback, FIFO, 16750/EFR)", "[uart]") {
  UartRig r;
  r.put(SCR, 0xA5);
  CHECK(r.in(SCR) == 0xA5);
  r.put(SCR, 0x5A);
  CHECK(r.in(SCR) == 0x5A);
  // IER: bits 3:0 read back, 7:4 read 0 (no XScale UUE bit).
  r.put(IER, 0);
  CHECK(r.in(IER) == 0);
  r.put(IER, 0x0F);
  CHECK(r.in(IER) == 0x0F);
  r.put(IER, 0xFF);
  CHECK(r.in(IER) == 0x0F);
  r.put(IER, 0);
  // Loopback check: MCR = LOOP | OUT2 | RTS -> MSR 7:4 = DCD | CTS.
  r.put(MCR, 0x1A);
  CHECK((r.in(MSR) & 0xF0) == 0x90);
  r.put(MCR, 0x08);
  // FIFO detection: IIR bits 7:6 = 11 once FCR0 is set.
  r.put(FCR, 0x01);
  CHECK(r.in(IIR) == 0xC1);
  // No EFR: with LCR = 0xBF offset 2 still reads IIR, never 0.
  r.put(LCR, 0xBF);
  CHECK(r.in(IIR) == 0xC1);
  r.put(LCR, 0x80);
  CHECK(r.in(IIR) == 0xC1);
  // Not a 16750: the 64-byte FIFO bit (FCR bit 5) never shows in IIR bit 5, with or
  // without DLAB.
  r.put(FCR, 0x21);
  CHECK((r.in(IIR) & 0x20) == 0);
  r.put(LCR, 0);
  r.put(FCR, 0x21);
  CHECK((r.in(IIR) & 0x20) == 0);
  // MCR bits 7:5 read 0.
  r.put(MCR, 0xFF);
  CHECK(r.in(MCR) == 0x1F);
  r.put(FCR, 0);
  CHECK(r.in(IIR) == 0x01);
}

TEST_CASE("uart: DLAB selects the divisor latch; nothing is transmitted", "[uart]") {
  UartRig r;
  r.put(IER, 0x05);
  r.put(LCR, 0x83);
  r.put(0, 0x34);
  r.put(1, 0x12);
  CHECK(r.in(0) == 0x34);
  CHECK(r.in(1) == 0x12);
  CHECK(r.u.reads(Uart16550::kDll) == 1);
  CHECK(r.u.writes(Uart16550::kDlm) == 1);
  CHECK(r.u.writes(Uart16550::kThr) == 0);
  CHECK(r.in(LCR) == 0x83);
  r.put(LCR, 0x03);
  CHECK(r.in(IER) == 0x05);
  CHECK(r.output().empty());
  CHECK(r.u.bytes_out == 0);
  r.put(0, 'k');
  CHECK(r.output() == "k");
  CHECK(r.u.writes(Uart16550::kThr) == 1);
}

TEST_CASE("uart: a byte at 115200 8N1 takes 10/115200 s", "[uart]") {
  UartRig r;  // 2 GHz
  r.fast_8n1();
  // 10 bits * 16 clocks of 1.8432 MHz = 86.805 us = 173611.1 cycles, rounded up.
  CHECK(r.ct() == 173612);
  r.put(0, 'A');
  CHECK(r.in(LSR) == 0x20);  // THR empty (byte in the shift register), not TEMT
  r.rig.advance_to(173611);
  CHECK(r.in(LSR) == 0x20);
  r.rig.advance_to(173612);
  CHECK(r.in(LSR) == 0x60);
  CHECK(r.output() == "A");
  CHECK(r.u.bytes_out == 1);
}

TEST_CASE("uart: character time follows LCR and the divisor", "[uart]") {
  UartRig r;
  const double hz = 2e9;
  auto expect = [&](uint8_t lcr, unsigned div, double bits) {
    r.put(LCR, 0x80);
    r.put(0, uint8_t(div));
    r.put(1, uint8_t(div >> 8));
    r.put(LCR, lcr);
    const double cycles = bits * 16 * (div ? div : 65536) / 1843200.0 * hz;
    CHECK(double(r.ct()) >= cycles - 1e-3);
    CHECK(double(r.ct()) < cycles + 1);
  };
  expect(0x03, 12, 10);   // 8N1 at 9600
  expect(0x1B, 12, 11);   // 8E1
  expect(0x0F, 1, 12);    // 8 data, parity, 2 stop
  expect(0x00, 3, 7);     // 5N1
  expect(0x04, 3, 7.5);   // 5 data, 1.5 stop
  expect(0x06, 6, 10);    // 7N2
  expect(0x03, 0, 10);    // divisor 0: the counter wraps (65536)
}

TEST_CASE("uart: transmit FIFO drains back to back; a full FIFO loses writes", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0x07);
  for (int i = 0; i < 18; i++) r.put(0, uint8_t('a' + i));
  // One in the shift register, 16 in the FIFO, the 18th lost.
  CHECK(r.u.tx_dropped == 1);
  CHECK(r.output() == "abcdefghijklmnopq");
  CHECK((r.in(LSR) & 0x60) == 0);
  r.rig.advance_to(r.at(16) - 1);
  CHECK((r.in(LSR) & 0x60) == 0);
  r.rig.advance_to(r.at(16));  // the 17th character is in the shift register
  CHECK((r.in(LSR) & 0x60) == 0x20);
  r.rig.advance_to(r.at(17) - 1);
  CHECK((r.in(LSR) & 0x60) == 0x20);
  r.rig.advance_to(r.at(17));
  CHECK((r.in(LSR) & 0x60) == 0x60);
}

TEST_CASE("uart: 16450 mode holds one byte in THR", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(0, '1');  // straight to the shift register
  r.put(0, '2');  // waits in THR
  CHECK((r.in(LSR) & 0x60) == 0);
  r.put(0, '3');  // THR full: lost
  CHECK(r.u.tx_dropped == 1);
  r.rig.advance(r.ct() + 1);
  CHECK((r.in(LSR) & 0x60) == 0x20);
  r.rig.advance(r.ct());
  CHECK((r.in(LSR) & 0x60) == 0x60);
  CHECK(r.output() == "12");
}

TEST_CASE("uart: THRE interrupt as serial8250_startup tests it", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0x07);
  CHECK(!r.irq());
  // IER.ETBEI 0 -> 1 with THR empty: THRE pending at once.
  r.put(IER, 0x02);
  CHECK(r.irq());
  CHECK(r.in(IIR) == 0xC2);
  // Reading IIR with THRE the source clears it.
  CHECK(!r.irq());
  CHECK(r.in(IIR) == 0xC1);
  // Re-arm: ETBEI 1 -> 0 -> 1.
  r.put(IER, 0);
  r.put(IER, 0x02);
  CHECK(r.in(IIR) == 0xC2);
  // Rewriting ETBEI = 1 is not a 0 -> 1 transition.
  r.put(IER, 0x02);
  CHECK(r.in(IIR) == 0xC1);
  // The 8250 driver's TX path: write a burst; THRE comes back when the FIFO is empty.
  r.put(IER, 0);
  r.put(IER, 0x02);
  CHECK(r.irq());
  for (char ch : std::string("hello")) r.put(0, uint8_t(ch));
  CHECK(!r.irq());  // writing THR cleared it; 4 bytes wait in the FIFO
  CHECK(r.in(IIR) == 0xC1);
  const unsigned rises = r.irq_rises();
  r.rig.advance_to(r.at(4) - 1);
  CHECK(!r.irq());
  r.rig.advance_to(r.at(4));  // the last byte moved into the shift register: FIFO empty
  CHECK(r.irq());
  CHECK(r.irq_rises() == rises + 1);
  CHECK(r.in(IIR) == 0xC2);
  // With an idle transmitter a THR write pulses the line (an edge for the PIC).
  r.rig.advance(2 * r.ct());
  const unsigned before = r.irq_rises();
  r.put(0, '!');
  CHECK(r.irq());
  CHECK(r.irq_rises() == before + 1);
}

TEST_CASE("uart: the IRQ line is INTR gated by MCR.OUT2, off in loopback", "[uart]") {
  UartRig r;
  r.put(MCR, 0x00);
  r.put(IER, 0x02);
  CHECK(r.in(IIR) == 0x02);  // pending (reading clears it; set it again below)
  r.put(IER, 0);
  r.put(IER, 0x02);
  CHECK(!r.irq());
  r.put(MCR, 0x08);
  CHECK(r.irq());
  CHECK(r.rig.ioapic_pins.level[4]);
  r.put(MCR, 0x18);  // loopback forces OUT2 inactive
  CHECK(!r.irq());
  r.put(MCR, 0x08);
  CHECK(r.irq());
  r.put(IER, 0);
  CHECK(!r.irq());
  CHECK(r.irq_rises() == 2);
}

TEST_CASE("uart: loopback sends TX to RX and mirrors MCR in MSR", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(MCR, 0x10);
  // Entering loopback: DCD/DSR/CTS go 1 -> 0 (OUT2/DTR/RTS are 0).
  CHECK(r.in(MSR) == 0x0B);
  CHECK(r.in(MSR) == 0x00);
  r.put(MCR, 0x1F);
  CHECK(r.in(MSR) == 0xFB);  // all four on; RI rising sets no TERI
  r.put(MCR, 0x1B);          // OUT1 off: RI 1 -> 0
  CHECK(r.in(MSR) == 0xB4);
  r.put(MCR, 0x10);
  r.in(MSR);
  r.put(0, 'x');
  CHECK(r.output().empty());
  CHECK((r.in(LSR) & 1) == 0);
  r.rig.advance(r.ct());
  CHECK(r.in(LSR) == 0x61);
  CHECK(r.in(RBR) == 'x');
  CHECK(r.in(LSR) == 0x60);
  CHECK(r.u.bytes_out == 0);
  CHECK(r.u.bytes_in == 1);
  r.put(MCR, 0x08);
  CHECK(r.in(MSR) == 0xBB);  // back to the terminal: DCD, DSR, CTS come on
}

TEST_CASE("uart: receive FIFO trigger levels", "[uart]") {
  for (unsigned level : {0u, 1u, 2u, 3u}) {
    const unsigned trig[] = {1, 4, 8, 14};
    UartRig r;
    r.fast_8n1();
    r.put(FCR, uint8_t(0x07 | (level << 6)));
    r.put(IER, 0x01);
    r.u.feed("0123456789abcdef");
    r.rig.advance_to(r.at(trig[level]) - 1);
    CHECK(r.in(IIR) == 0xC1);
    CHECK(!r.irq());
    r.rig.advance_to(r.at(trig[level]));
    CHECK(r.in(IIR) == 0xC4);
    CHECK(r.irq());
    CHECK(r.in(RBR) == '0');  // below the trigger again
    CHECK(r.in(IIR) == 0xC1);
    CHECK(!r.irq());
  }
}

TEST_CASE("uart: character timeout interrupt", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0xC7);  // trigger 14
  r.put(IER, 0x01);
  r.u.feed("hi");
  const uint64_t c = r.ct();
  r.rig.advance_to(r.at(2));
  CHECK(r.in(LSR) == 0x61);
  r.rig.advance_to(r.at(2) + r.at(4) - 1);  // 4 character times after the last one
  CHECK(r.in(IIR) == 0xC1);
  r.rig.advance_to(r.at(2) + r.at(4));
  CHECK(r.in(IIR) == 0xCC);
  CHECK(r.irq());
  CHECK(r.in(RBR) == 'h');  // clears the timeout and restarts its timer
  CHECK(r.in(IIR) == 0xC1);
  CHECK(!r.irq());
  r.rig.advance(4 * c);
  CHECK(r.in(IIR) == 0xCC);
  CHECK(r.in(RBR) == 'i');
  r.rig.advance(10 * c);
  CHECK(r.in(IIR) == 0xC1);  // empty FIFO: no timeout
  // No timeout in 16450 mode: DR is the data-available interrupt.
  r.put(FCR, 0);
  r.u.feed("z");
  r.settle(1);
  CHECK(r.in(IIR) == 0x04);
  CHECK(r.in(RBR) == 'z');
  CHECK(r.in(IIR) == 0x01);
}

TEST_CASE("uart: interrupt priorities", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0x07);  // trigger 1
  r.put(MCR, 0x10);  // loopback (no IRQ line; IIR still reports)
  r.in(MSR);
  for (int i = 0; i < 17; i++) r.put(0, uint8_t('A' + i));
  r.rig.advance(18 * r.ct());
  r.put(MCR, 0x11);  // DTR -> DSR: a modem status change
  r.put(IER, 0x0F);  // THRE pending too (ETBEI 0 -> 1, THR empty)
  CHECK(r.in(IIR) == 0xC6);  // overrun
  CHECK((r.in(LSR) & 0x02) == 0x02);
  CHECK(r.u.rx_overruns == 1);
  CHECK(r.in(IIR) == 0xC4);  // data
  for (int i = 0; i < 16; i++) CHECK(r.in(RBR) == 'A' + i);
  CHECK(r.in(IIR) == 0xC2);  // THRE, cleared by this read
  CHECK(r.in(IIR) == 0xC0);  // modem status
  CHECK(r.in(MSR) == 0x22);
  CHECK(r.in(IIR) == 0xC1);
}

TEST_CASE("uart: overrun in 16450 mode overwrites RBR; LSR read clears errors", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(MCR, 0x10);
  r.put(0, '1');
  r.put(0, '2');
  r.rig.advance(3 * r.ct());
  CHECK(r.in(LSR) == 0x63);  // DR | OE
  CHECK(r.in(LSR) == 0x61);
  CHECK(r.in(RBR) == '2');
  CHECK(r.in(RBR) == '2');  // an empty RBR keeps its last character
  CHECK(r.in(LSR) == 0x60);
}

TEST_CASE("uart: a break arrives as a zero character with BI", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0x07);
  r.put(IER, 0x04);
  r.u.feed("a");
  r.u.send_break();
  r.u.feed("b");
  r.rig.advance(3 * r.ct());
  // BI shows when the break reaches the top of the FIFO; bit 7 while it is queued.
  CHECK(r.in(LSR) == 0xE1);
  CHECK(r.in(IIR) == 0xC1);
  CHECK(r.in(RBR) == 'a');
  CHECK(r.in(IIR) == 0xC6);
  CHECK(r.irq());
  CHECK(r.in(LSR) == 0xF1);  // BI and bit 7 ...
  CHECK(!r.irq());
  CHECK(r.in(LSR) == 0xE1);  // ... bit 7 stays while the break character is queued
  CHECK(r.in(RBR) == 0);
  CHECK(r.in(LSR) == 0xE1);  // cleared by the first LSR read with no error queued
  CHECK(r.in(LSR) == 0x61);
  CHECK(r.in(RBR) == 'b');
}

TEST_CASE("uart: file input arrives at line rate with flow control", "[uart]") {
  auto run = [](std::vector<uint64_t>* arrivals) {
    UartRig r;
    r.fast_8n1();
    r.put(FCR, 0x07);
    std::FILE* f = std::tmpfile();
    std::string text;
    for (int i = 0; i < 40; i++) text += char('!' + i);
    std::fputs(text.c_str(), f);
    std::rewind(f);
    r.u.set_input(f, false);
    const uint64_t c = r.ct();
    r.rig.advance(c - 1);
    CHECK((r.in(LSR) & 1) == 0);
    r.rig.advance(1);
    CHECK((r.in(LSR) & 1) == 1);
    r.rig.advance(100 * c);  // the FIFO fills to 16 and the sender waits
    CHECK(r.u.bytes_in == 16);
    CHECK(r.u.rx_overruns == 0);
    CHECK((r.in(LSR) & 0x02) == 0);
    std::string got;
    while (got.size() < 40) {
      if (r.in(LSR) & 1) {
        got += char(r.in(RBR));
        arrivals->push_back(r.rig.cycles);
      }
      r.rig.advance(c / 3);
    }
    CHECK(got == text);
    CHECK(r.u.rx_overruns == 0);
    r.rig.advance(10 * c);
    CHECK(r.rig.events.next_due() == EventQueue::kNever);  // EOF: the line event stops
    std::fclose(f);
  };
  std::vector<uint64_t> a, b;
  run(&a);
  run(&b);
  CHECK(a == b);  // deterministic
}

TEST_CASE("uart: interactive input from a pipe is polled without blocking", "[uart]") {
  UartRig r;
  r.fast_8n1();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::FILE* f = ::fdopen(fds[0], "r");
  r.u.set_input(f, true);
  r.rig.advance(5 * r.ct());  // nothing typed: polls, no data, no blocking
  CHECK((r.in(LSR) & 1) == 0);
  REQUIRE(::write(fds[1], "ok", 2) == 2);
  r.settle(2);
  CHECK(r.in(RBR) == 'o');
  r.settle(2);
  CHECK(r.in(RBR) == 'k');
  ::close(fds[1]);
  r.settle(3);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);  // EOF: polling stopped
  std::fclose(f);
}

TEST_CASE("uart: FCR resets and FIFO mode changes", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0x01);
  r.u.feed("abc");
  r.rig.advance(3 * r.ct());
  CHECK(r.in(LSR) == 0x61);
  r.put(FCR, 0x03);  // RX FIFO reset
  CHECK(r.in(LSR) == 0x60);
  r.put(MCR, 0x18);
  for (int i = 0; i < 4; i++) r.put(0, 'x');
  CHECK((r.in(LSR) & 0x20) == 0);
  r.put(FCR, 0x05);  // TX FIFO reset: the shift register keeps its byte
  CHECK(r.in(LSR) == 0x20);
  r.settle(1);
  CHECK(r.in(LSR) == 0x61);
  r.put(FCR, 0x00);  // leaving FIFO mode clears the FIFOs
  CHECK(r.in(LSR) == 0x60);
  CHECK(r.in(IIR) == 0x01);
}

TEST_CASE("uart: odd access sizes split into byte accesses", "[uart]") {
  UartRig r;
  r.u.port_out(kBase + LCR, 2, 0x0B03);  // LCR = 3, MCR = 0x0B
  CHECK(r.in(LCR) == 0x03);
  CHECK(r.in(MCR) == 0x0B);
  r.put(SCR, 0x42);
  CHECK(r.u.port_in(kBase + MSR, 2) == 0x42B0);
  CHECK(r.u.port_in(kBase + SCR, 2) == 0xFF42);  // +8 is not ours
  CHECK(r.u.port_in(kBase + SCR, 4) == 0xFFFFFF42);
  r.u.port_out(kBase + SCR, 4, 0x11223344);  // only SCR takes a byte
  CHECK(r.in(SCR) == 0x44);
  r.u.port_out(kBase, 4, 0x00000080 | ('Q' << 24) | (0x07 << 16));
  // THR 0x80, IER 0, FCR 7, LCR 'Q' (0x51): a byte went out and DLAB is off.
  CHECK(r.output() == "\x80");
  CHECK(r.in(LCR) == 0x51);
  CHECK(r.in(IIR) == 0xC1);
}

TEST_CASE("uart: unpaced transmit empties the line at once", "[uart]") {
  UartRig r;
  r.u.set_tx_paced(false);
  r.put(FCR, 0x07);
  r.put(IER, 0x02);
  CHECK(r.in(IIR) == 0xC2);
  for (int i = 0; i < 40; i++) r.put(0, 'z');
  CHECK(r.in(LSR) == 0x60);
  CHECK(r.u.tx_dropped == 0);
  CHECK(r.u.bytes_out == 40);
  CHECK(r.irq());
  CHECK(r.rig.events.next_due() == EventQueue::kNever);
  r.put(MCR, 0x18);
  r.put(0, 'L');  // loopback still delivers
  CHECK(r.in(RBR) == 'L');
}

TEST_CASE("uart: accesses are counted by register and traced", "[uart]") {
  UartRig r;
  r.rig.enable_trace();
  r.put(IER, 0x02);
  r.in(IIR);
  r.in(LSR);
  r.put(0, 'A');
  CHECK(r.u.writes(Uart16550::kIer) == 1);
  CHECK(r.u.reads(Uart16550::kIir) == 1);
  CHECK(r.u.reads(Uart16550::kLsr) == 1);
  CHECK(r.u.writes(Uart16550::kThr) == 1);
  CHECK(r.u.reg_names()[Uart16550::kFcr] == "fcr");
  bool saw_irq = false, saw_thr = false;
  for (const auto& l : r.rig.trace_lines) {
    saw_irq |= l.rfind("irq uart0", 0) == 0;
    saw_thr |= l.find("uart0.thr w 0x41") != std::string::npos;
  }
  CHECK(saw_irq);
  CHECK(saw_thr);
}

TEST_CASE("uart: reset restores the power-on state and lowers the line", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(FCR, 0xC7);
  r.put(IER, 0x0F);
  r.put(0, 'q');
  r.put(SCR, 9);
  CHECK(r.irq());
  r.u.reset();
  CHECK(!r.irq());
  CHECK(r.in(LSR) == 0x60);
  CHECK(r.in(IIR) == 0x01);
  CHECK(r.in(IER) == 0);
  CHECK(r.in(MCR) == 0x08);
  CHECK(r.in(SCR) == 0);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);
}

TEST_CASE("uart: random programming never breaks the invariants", "[uart]") {
  UartRig r;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; i++) {
    const uint64_t v = next();
    const unsigned off = v & 7, size = 1u << ((v >> 3) % 3);
    switch ((v >> 8) % 8) {
      case 0:
      case 1:
      case 2: r.u.port_out(uint16_t(kBase + off), size, uint32_t(v >> 16)); break;
      case 3:
      case 4: r.u.port_in(uint16_t(kBase + off), size); break;
      case 5: r.rig.advance((v >> 16) % 400000); break;
      case 6: r.u.feed(std::string(size_t((v >> 16) % 5), char(v >> 24))); break;
      default:
        if ((v >> 16) % 64 == 0) r.u.send_break();
        if ((v >> 16) % 97 == 0) r.u.reset();
        break;
    }
    REQUIRE(r.irq() == r.u.irq_line());
    const uint8_t lsr = r.u.line_status();
    REQUIRE((!(lsr & 0x40) || (lsr & 0x20)));  // TEMT implies THRE
  }
  CHECK(r.u.bytes_out > 0);
  CHECK(r.u.bytes_in > 0);
}

TEST_CASE("uart: output can be switched or discarded; loopback disconnects the line", "[uart]") {
  UartRig r;
  r.fast_8n1();
  r.put(0, 'a');
  r.u.set_output(nullptr);
  r.settle(1);
  r.put(0, 'b');  // discarded, still counted and still timed
  CHECK(r.in(LSR) == 0x20);
  CHECK(r.u.bytes_out == 2);
  r.settle(1);
  r.u.set_output(r.out);
  r.put(0, 'c');
  CHECK(r.output() == "ac");
  // While in loopback SIN is disconnected: fed bytes wait for the line to come back.
  r.put(MCR, 0x18);
  r.u.feed("xy");
  r.settle(4);
  CHECK((r.in(LSR) & 1) == 0);
  r.put(MCR, 0x08);
  r.settle(1);
  CHECK(r.in(RBR) == 'x');
  r.settle(1);
  CHECK(r.in(RBR) == 'y');
  CHECK(r.u.bytes_in == 2);
}
