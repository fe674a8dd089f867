#include "sim/dev/pic.h"

#include <bit>
#include <cstdio>

namespace sim {

namespace {

// Register names for the per-register statistics: the command and data ports are
// split by what the access means at the time (see reg_of).
enum Reg : unsigned {
  kCmd, kIrr, kIsr, kPoll, kImr, kIcw2, kIcw3, kIcw4,  // master; slave at +8
  kRegElcr0 = 16, kRegElcr1, kOther
};

std::vector<std::string> pic_regs() {
  std::vector<std::string> r;
  for (const char* chip : {"m.", "s."})
    for (const char* n : {"cmd", "irr", "isr", "poll", "imr", "icw2", "icw3", "icw4"})
      r.push_back(std::string(chip) + n);
  r.push_back("elcr0");
  r.push_back("elcr1");
  r.push_back("other");
  return r;
}

}  // namespace

Pic8259::Pic8259(DeviceContext& ctx) : Device(ctx, "pic", pic_regs()) { reset(); }

unsigned Pic8259::Chip::top(uint8_t bits) const {
  // Rotate so that `highest` becomes bit 0; the lowest set bit is then the winner.
  const uint8_t rot = std::rotr(bits, int(highest));
  return (unsigned(std::countr_zero(rot)) + highest) & 7;
}

void Pic8259::reset() {
  for (unsigned c = 0; c < 2; ++c) {
    const uint8_t line = chip_[c].line;  // the inputs keep their levels
    chip_[c] = Chip{};
    chip_[c].line = line;
    chip_[c].elcr_mask = c == 0 ? 0xF8 : 0xDE;  // IRQ 0, 1, 2 and 8, 13: always edge
  }
  // The firmware's initialization (what SeaBIOS's pic_setup writes).
  write_byte(kMasterCmd, 0x11);
  write_byte(kMasterData, 0x08);
  write_byte(kMasterData, 0x04);
  write_byte(kMasterData, 0x01);
  write_byte(kSlaveCmd, 0x11);
  write_byte(kSlaveData, 0x70);
  write_byte(kSlaveData, 0x02);
  write_byte(kSlaveData, 0x01);
  write_byte(kMasterData, 0xFB);
  write_byte(kSlaveData, 0xFF);
  spurious_ = 0;
}

bool Pic8259::cascaded() const {
  // ICW1 SNGL = 0 and ICW3 names IR2 as having a slave: on INTA for IR2 the master
  // leaves the vector to the slave (datasheet "Cascade Mode").
  return !(chip_[0].icw1 & 0x02) && (chip_[0].icw3 & (1u << kCascadePin));
}

int Pic8259::pending(unsigned c) const {
  const Chip& p = chip_[c];
  const uint8_t req = p.irr & ~p.imr;
  if (!req) return -1;
  const unsigned r = p.top(req);
  uint8_t busy = p.isr;
  if (p.special_mask) busy &= ~p.imr;  // datasheet "Special Mask Mode"
  if (!busy) return int(r);
  const unsigned s = p.top(busy);
  if (p.prio(r) < p.prio(s)) return int(r);
  // Special fully nested mode: the master lets a new request of the in-service
  // cascade level through (a higher-priority slave interrupt).
  if (c == 0 && r == s && r == kCascadePin && p.sfnm() && cascaded()) return int(r);
  return -1;
}

void Pic8259::set_line(unsigned c, unsigned ir, bool level) {
  Chip& p = chip_[c];
  const uint8_t b = uint8_t(1u << ir);
  const bool was = p.line & b;
  p.line = level ? (p.line | b) : (p.line & ~b);
  if (p.elcr & b)
    p.irr = level ? (p.irr | b) : (p.irr & ~b);  // level: IRR follows the line
  else if (level && !was)
    p.irr |= b;  // edge: latched on the rising edge
}

void Pic8259::ack_line(unsigned c, unsigned ir) {
  Chip& p = chip_[c];
  const uint8_t b = uint8_t(1u << ir);
  if (!(p.elcr & b)) p.irr &= ~b;  // a level-mode request stays while the line is high
  if (!p.aeoi())
    p.isr |= b;
  else if (p.rotate_in_aeoi)
    p.highest = (ir + 1) & 7;  // OCW2 "rotate in automatic EOI mode"
}

void Pic8259::update() {
  // The slave's INT is wired to the master's IR2 whatever the programming says.
  set_line(0, kCascadePin, pending(1) >= 0);
  const bool out = int_output();
  if (out == out_) return;
  out_ = out;
  if (on_output_change) on_output_change();
}

void Pic8259::set_pin(unsigned pin, bool level) {
  if (pin >= 16 || pin == kCascadePin) return;
  set_line(pin >> 3, pin & 7, level);
  update();
}

bool Pic8259::int_output() const { return pending(0) >= 0; }

uint8_t Pic8259::acknowledge() {
  uint8_t vector;
  bool spurious = false;
  int irq = pending(0);
  if (irq < 0) {
    spurious = true;
    // The request went away between INT and INTA: the master answers IR7 without
    // setting its ISR (datasheet "Interrupt Sequence", last paragraph).
    spurious_++;
    vector = vector_base(0) | 7;
  } else {
    ack_line(0, unsigned(irq));
    if (unsigned(irq) == kCascadePin && cascaded()) {
      const int s = pending(1);
      if (s < 0) {
        // Slave spurious: IR15's vector; the master's ISR bit 2 stays set (it has
        // already acknowledged the cascade), the slave's ISR is untouched.
        spurious = true;
        spurious_++;
        vector = vector_base(1) | 7;
        irq = 15;
      } else {
        ack_line(1, unsigned(s));
        vector = uint8_t(vector_base(1) | s);
        irq = 8 + s;
      }
      // The slave drops INT during its INTA sequence; a further request raises it
      // again, which the master's edge-triggered IR2 then sees as a new request.
      set_line(0, kCascadePin, false);
    } else {
      vector = uint8_t(vector_base(0) | irq);
    }
  }
  if (ctx_.tracing()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "INTA irq %d vector 0x%02x%s", irq < 0 ? 7 : irq, vector,
                  spurious ? " (spurious)" : "");
    trace("irq", buf);
  }
  update();
  return vector;
}

void Pic8259::icw1(unsigned c, uint8_t v) {
  // Datasheet "ICW1": edge sense reset (a new rising edge is needed), IMR cleared,
  // IR7 lowest priority, special mask mode off, status read = IRR; IC4 = 0 clears
  // every ICW4 function.
  Chip& p = chip_[c];
  p.icw1 = v;
  p.init_step = 2;
  p.imr = 0;
  p.isr = 0;
  p.irr = p.line & p.elcr;
  p.highest = 0;
  p.read_isr = false;
  p.poll = false;
  p.special_mask = false;
  p.rotate_in_aeoi = false;
  if (!(v & 0x01)) p.icw4 = 0;
}

void Pic8259::data_write(unsigned c, uint8_t v) {
  Chip& p = chip_[c];
  const bool single = p.icw1 & 0x02, need_icw4 = p.icw1 & 0x01;
  switch (p.init_step) {
    case 2:  // ICW2: T7-T3 of the vector (8086 mode; A10-A8 ignored)
      p.icw2 = v;
      p.init_step = single ? (need_icw4 ? 4 : 0) : 3;
      break;
    case 3:  // ICW3: master: IR lines with a slave; slave: its ID (stored)
      p.icw3 = v;
      p.init_step = need_icw4 ? 4 : 0;
      break;
    case 4:  // ICW4: uPM, AEOI, M/S, BUF, SFNM (stored; uPM = 0 is not modelled)
      p.icw4 = v;
      p.init_step = 0;
      break;
    default:  // OCW1
      p.imr = v;
  }
}

void Pic8259::ocw2(unsigned c, uint8_t v) {
  Chip& p = chip_[c];
  const unsigned level = v & 7;
  switch (v >> 5) {  // R SL EOI
    case 0: p.rotate_in_aeoi = false; break;
    case 4: p.rotate_in_aeoi = true; break;
    case 1:    // non-specific EOI
    case 5: {  // rotate on non-specific EOI
      uint8_t candidates = p.isr;
      if (p.special_mask) candidates &= ~p.imr;  // masked ISR bits stay in SMM
      if (!candidates) break;
      const unsigned ir = p.top(candidates);
      p.isr &= uint8_t(~(1u << ir));
      if (v >> 5 == 5) p.highest = (ir + 1) & 7;
      break;
    }
    case 3: p.isr &= uint8_t(~(1u << level)); break;  // specific EOI
    case 7:                                          // rotate on specific EOI
      p.isr &= uint8_t(~(1u << level));
      p.highest = (level + 1) & 7;
      break;
    case 6: p.highest = (level + 1) & 7; break;  // set priority: `level` is lowest
    default: break;                              // 2: no operation
  }
}

void Pic8259::ocw3(unsigned c, uint8_t v) {
  Chip& p = chip_[c];
  if (v & 0x40) p.special_mask = v & 0x20;  // ESMM SMM
  if (v & 0x04) p.poll = true;              // P
  if (v & 0x02) p.read_isr = v & 0x01;      // RR RIS
}

uint8_t Pic8259::poll_read(unsigned c) {
  // Datasheet "The Poll Command": the read acts as INTA; the poll word is I (bit 7,
  // a request is pending) and W2-W0 (its level); with no request we return 0.
  chip_[c].poll = false;
  const int ir = pending(c);
  if (ir < 0) return 0x00;
  ack_line(c, unsigned(ir));
  return uint8_t(0x80 | ir);
}

uint8_t Pic8259::read_byte(uint16_t port) {
  switch (port) {
    case kMasterCmd:
    case kSlaveCmd: {
      const unsigned c = port == kSlaveCmd;
      if (chip_[c].poll) {
        const uint8_t v = poll_read(c);
        update();
        return v;
      }
      return chip_[c].read_isr ? chip_[c].isr : chip_[c].irr;
    }
    case kMasterData:
    case kSlaveData: {
      const unsigned c = port == kSlaveData;
      if (chip_[c].poll) {
        const uint8_t v = poll_read(c);
        update();
        return v;
      }
      return chip_[c].imr;
    }
    case kElcr0: return chip_[0].elcr;
    case kElcr1: return chip_[1].elcr;
    default: return 0xFF;
  }
}

void Pic8259::write_byte(uint16_t port, uint8_t v) {
  switch (port) {
    case kMasterCmd:
    case kSlaveCmd: {
      const unsigned c = port == kSlaveCmd;
      if (v & 0x10)
        icw1(c, v);
      else if (v & 0x08)
        ocw3(c, v);
      else
        ocw2(c, v);
      break;
    }
    case kMasterData:
    case kSlaveData: data_write(port == kSlaveData, v); break;
    case kElcr0:
    case kElcr1: {
      Chip& p = chip_[port == kElcr1];
      p.elcr = v & p.elcr_mask;
      // Lines now level-triggered present their level; edge ones keep the latch.
      p.irr = uint8_t((p.irr & ~p.elcr) | (p.line & p.elcr));
      break;
    }
    default: return;
  }
  update();
}

uint64_t Pic8259::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kPort) return ~0ull;
  return split_read(addr, size, [this](uint64_t a) { return read_byte(uint16_t(a)); });
}

void Pic8259::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort) return;
  split_write(addr, size, value, [this](uint64_t a, uint8_t b) { write_byte(uint16_t(a), b); });
}

unsigned Pic8259::reg_of(Space s, uint64_t addr, bool write) const {
  if (s != Space::kPort) return kOther;
  switch (addr) {
    case kMasterCmd:
    case kSlaveCmd: {
      const unsigned c = addr == kSlaveCmd;
      const Chip& p = chip_[c];
      const unsigned r = write ? kCmd : p.poll ? kPoll : p.read_isr ? kIsr : kIrr;
      return 8 * c + r;
    }
    case kMasterData:
    case kSlaveData: {
      const unsigned c = addr == kSlaveData;
      const Chip& p = chip_[c];
      unsigned r = kImr;
      if (!write && p.poll) r = kPoll;
      if (write && p.init_step >= 2) r = kIcw2 + (p.init_step - 2);
      return 8 * c + r;
    }
    case kElcr0: return kRegElcr0;
    case kElcr1: return kRegElcr1;
    default: return kOther;
  }
}

}  // namespace sim
