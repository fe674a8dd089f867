#include "sim/dev/pit.h"

#include "sim/dev/irq.h"

namespace sim {

namespace {

enum Reg : unsigned { kC0, kC1, kC2, kCtrl, kPortBReg, kOther };

std::vector<std::string> pit_regs() { return {"c0", "c1", "c2", "ctrl", "portb", "other"}; }

constexpr uint64_t kNever = ~0ull;

uint32_t from_bcd(uint16_t v) {
  return (v >> 12 & 15) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
}
uint16_t to_bcd(uint32_t v) {
  return uint16_t((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

// Mode 3 (datasheet "Mode 3: Square Wave Mode"): an even count decrements by two per
// CLK; an odd count is loaded, the first CLK takes one (OUT high) or three (OUT low)
// and later ones two, so OUT is high for (N+1)/2 and low for (N-1)/2 CLKs.
// CLKs left in the current half from CE `c` with OUT `o`:
uint64_t half_left(uint64_t c, bool o) {
  const uint64_t r = c % 2 == 0 ? c / 2 : o ? (c + 1) / 2 : (c - 1) / 2;
  return r ? r : 1;
}
// CE `j` CLKs into a half that started at `c` (j < half_left(c, o)).
uint32_t half_ce(uint64_t c, bool o, uint64_t j) {
  if (j == 0) return uint32_t(c);
  if (c % 2 == 0) return uint32_t(c - 2 * j);
  return uint32_t(o ? c + 1 - 2 * j : c - 1 - 2 * j);
}

}  // namespace

uint32_t Pit8254::Counter::initial() const {
  const uint32_t m = modulus();
  const uint32_t n = (bcd ? from_bcd(cr) : cr) % m;
  return n ? n : m;
}

uint16_t Pit8254::Counter::read_value() const {
  const uint32_t v = ce % modulus();
  return bcd ? to_bcd(v) : uint16_t(v);
}

uint8_t Pit8254::Counter::status_byte() const {
  // Read-back status (datasheet Figure "Status Byte"): OUT, NULL COUNT, RW1 RW0,
  // M2 M1 M0, BCD.
  return uint8_t((out ? 0x80 : 0) | (null_count ? 0x40 : 0) | rw << 4 | mode_bits << 1 |
                 (bcd ? 1 : 0));
}

void Pit8254::Counter::load() {
  const uint32_t n = initial();
  ce = (mode == 2 || mode == 3) ? n : n % modulus();
  null_count = false;
  loaded = true;
  switch (mode) {
    case 0: out = false, tc = 1; break;
    case 1: out = false, tc = 1; break;  // the one-shot starts: OUT low until TC
    case 2: out = n != 1; break;         // low while CE = 1
    case 3: out = true; break;
    default: out = true, tc = 1; break;  // 4, 5: strobe at TC
  }
}

void Pit8254::Counter::advance(uint64_t t) {
  if (t <= ref) return;
  if (load_pending) {
    load_pending = false;
    ++ref;
    load();
    if (t == ref) return;
  }
  const uint64_t d = t - ref;
  ref = t;
  if (tc == 2) tc = 0, out = true;  // the strobe lasts one CLK
  if (!counting()) return;
  const uint64_t m = modulus();
  switch (mode) {
    case 2: {
      // CE counts c..1 (OUT low at 1), then reloads N on the next CLK.
      const uint64_t c = ce;
      if (d < c) {
        ce = uint32_t(c - d);
      } else {
        const uint64_t n = initial();
        ce = uint32_t(n - (d - c) % n);
        null_count = false;
      }
      out = ce != 1;
      return;
    }
    case 3: {
      const uint64_t r = half_left(ce, out);
      if (d < r) {
        ce = half_ce(ce, out, d);
        return;
      }
      null_count = false;
      const uint64_t n = initial(), rest = d - r;
      if (n == 1) {  // no low half: OUT stays high
        ce = 1, out = true;
        return;
      }
      const bool o = !out;  // the half that starts at the reload
      const uint64_t first = o ? (n + 1) / 2 : n / 2, pos = rest % n;
      if (pos < first)
        out = o, ce = half_ce(n, o, pos);
      else
        out = !o, ce = half_ce(n, !o, pos - first);
      return;
    }
    default: {
      // Modes 0/1/4/5: CE wraps through 0 and keeps counting; only the first
      // terminal count after a load changes OUT.
      const uint64_t to_zero = ce == 0 ? m : ce;
      if (tc == 1 && d >= to_zero) {
        if (mode == 0 || mode == 1)
          out = true, tc = 0;
        else if (d == to_zero)
          out = false, tc = 2;
        else
          out = true, tc = 0;
      }
      ce = uint32_t((ce + m - d % m) % m);
    }
  }
}

uint64_t Pit8254::Counter::next_change() const {
  if (load_pending || tc == 2) return ref + 1;
  if (!counting()) return kNever;
  switch (mode) {
    case 2:
      if (ce == 1) return initial() == 1 ? kNever : ref + 1;
      return ref + ce - 1;
    case 3:
      if (initial() == 1 && out) return kNever;
      return ref + half_left(ce, out);
    default:
      if (tc != 1) return kNever;
      return ref + (ce == 0 ? modulus() : ce);
  }
}

Pit8254::Pit8254(DeviceContext& ctx) : Device(ctx, "pit", pit_regs()) {
  timer_ = ctx.events->add("pit.irq0", [this](uint64_t due) { fire(due); });
  reset();
}

void Pit8254::reset() {
  ctx_.events->cancel(timer_);
  port_b_ = 0;
  const uint64_t t = now_tick();
  for (unsigned i = 0; i < 3; ++i) {
    c_[i] = Counter{};
    c_[i].ref = t;
    c_[i].gate = i != 2;
  }
  // The firmware's programming: counter 0 mode 2, 1 and 2 mode 3, count 0.
  for (uint8_t cw : {uint8_t(0x34), uint8_t(0x76), uint8_t(0xB6)}) {
    control_word(cw);
    const unsigned i = cw >> 6;
    write_counter(i, 0);
    write_counter(i, 0);
  }
  irq0_ = !c_[0].out;  // force the first drive
  changed(0);
}

Pit8254::Counter Pit8254::at_now(unsigned i) const {
  Counter k = c_[i];
  k.advance(now_tick());
  return k;
}

bool Pit8254::out(unsigned counter) const { return at_now(counter % 3).out; }
uint16_t Pit8254::count(unsigned counter) const { return at_now(counter % 3).read_value(); }

Pit8254::Counter& Pit8254::touch(unsigned i) {
  if (i == 0) {
    const uint64_t now = ctx_.now();
    while (ctx_.events->armed(timer_) && ctx_.events->due(timer_) <= now)
      fire(ctx_.events->due(timer_));
  }
  c_[i].advance(now_tick());
  return c_[i];
}

void Pit8254::changed(unsigned i) {
  if (i != 0) return;
  drive_irq0(c_[0].out);
  const uint64_t t = c_[0].next_change();
  if (t == kNever)
    ctx_.events->cancel(timer_);
  else
    ctx_.events->schedule(timer_, ctx_.cycle_of_tick(t, kClockHz));
}

void Pit8254::fire(uint64_t due) {
  c_[0].advance(ctx_.ticks_at(due, kClockHz));
  changed(0);
}

void Pit8254::drive_irq0(bool level) {
  if (level == irq0_) return;
  irq0_ = level;
  if (ctx_.irq) ctx_.irq->set_isa_irq(0, level);
  if (level) trace("irq", "OUT0 rises: IRQ 0");
}

void Pit8254::latch_count(Counter& k) {
  if (k.count_latched) return;  // a second latch before the read is ignored
  k.count_latched = true;
  k.latch_msb_next = false;
  k.latch = k.read_value();
}

void Pit8254::control_word(uint8_t v) {
  const unsigned sc = v >> 6, rw = v >> 4 & 3;
  if (sc == 3) {
    // Read-back command: bit 5 = /COUNT, bit 4 = /STATUS, bits 3-1 = counters 2-0.
    for (unsigned i = 0; i < 3; ++i) {
      if (!(v & (2u << i))) continue;
      Counter& k = touch(i);
      if (!(v & 0x20)) latch_count(k);
      if (!(v & 0x10) && !k.status_latched) {
        k.status_latched = true;
        k.status = k.status_byte();
      }
    }
    return;
  }
  Counter& k = touch(sc);
  if (rw == 0) {  // counter latch command
    latch_count(k);
    return;
  }
  // A control word resets the counter's logic: it stops until a count is written
  // (modes 1/5: until a trigger), OUT takes its initial level (low in mode 0).
  const unsigned mode = v >> 1 & 7;
  k.mode = uint8_t(mode >= 6 ? mode - 4 : mode);
  k.mode_bits = uint8_t(mode);
  k.rw = uint8_t(rw);
  k.bcd = v & 1;
  k.count_written = false;
  k.null_count = true;
  k.write_msb_next = false;
  k.read_msb_next = false;
  k.count_latched = false;
  k.status_latched = false;
  k.load_pending = false;
  k.loaded = false;
  k.tc = 0;
  k.out = k.mode != 0;
  changed(sc);
}

void Pit8254::write_counter(unsigned i, uint8_t v) {
  Counter& k = touch(i);
  switch (k.rw) {
    case 1: k.cr = v; break;
    case 2: k.cr = uint16_t(v << 8); break;
    default:
      if (!k.write_msb_next) {
        k.write_lsb = v;
        k.write_msb_next = true;
        if (k.mode == 0) {  // the first byte stops counting and drops OUT
          k.loaded = false;
          k.load_pending = false;
          k.tc = 0;
          k.out = false;
          changed(i);
        }
        return;
      }
      k.write_msb_next = false;
      k.cr = uint16_t(k.write_lsb | v << 8);
  }
  const bool first = !k.count_written;
  k.count_written = true;
  k.null_count = true;
  switch (k.mode) {
    case 0:
      k.out = false;
      k.tc = 0;
      k.load_pending = true;
      break;
    case 4: k.load_pending = true; break;
    case 2:
    case 3:
      if (first || !k.loaded) k.load_pending = true;  // else at the next reload
      break;
    default: break;  // 1, 5: loaded by the next gate trigger
  }
  changed(i);
}

uint8_t Pit8254::read_counter(unsigned i) {
  Counter& k = c_[i];
  if (k.status_latched) {
    k.status_latched = false;
    return k.status;
  }
  if (k.count_latched) {
    uint8_t b;
    if (k.rw == 3 && !k.latch_msb_next) {
      b = uint8_t(k.latch);
      k.latch_msb_next = true;
      return b;
    }
    b = uint8_t(k.rw == 1 ? k.latch : k.latch >> 8);
    k.count_latched = false;
    return b;
  }
  const uint16_t v = at_now(i).read_value();
  switch (k.rw) {
    case 1: return uint8_t(v);
    case 2: return uint8_t(v >> 8);
    default:
      k.read_msb_next = !k.read_msb_next;
      return uint8_t(k.read_msb_next ? v : v >> 8);
  }
}

void Pit8254::set_gate(unsigned i, bool g) {
  Counter& k = touch(i);
  if (g == k.gate) return;
  k.gate = g;
  if (g) {
    // Rising edge: modes 1/5 trigger, modes 2/3 reload; both on the next CLK.
    // Modes 0/4 simply resume.
    if (k.count_written && k.mode != 0 && k.mode != 4) k.load_pending = true;
  } else if (k.mode == 2 || k.mode == 3) {
    k.out = true;  // gate low forces OUT high at once
  }
  changed(i);
}

uint8_t Pit8254::read_byte(uint16_t port) {
  switch (port) {
    case 0x40:
    case 0x41:
    case 0x42: return read_counter(port - 0x40);
    case kControl: return 0xFF;  // the control word register is write-only
    case kPortB: {
      const bool refresh = ctx_.ticks_at(ctx_.now(), kClockHz) / kRefreshTicks & 1;
      return uint8_t((port_b_ & 0x0F) | (refresh ? 0x10 : 0) | (out(2) ? 0x20 : 0));
    }
    default: return 0xFF;
  }
}

void Pit8254::write_byte(uint16_t port, uint8_t v) {
  switch (port) {
    case 0x40:
    case 0x41:
    case 0x42: write_counter(port - 0x40, v); break;
    case kControl: control_word(v); break;
    case kPortB:
      port_b_ = v & 0x0F;
      set_gate(2, v & 1);
      break;
    default: break;
  }
}

uint64_t Pit8254::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kPort) return ~0ull;
  return split_read(addr, size, [this](uint64_t a) { return read_byte(uint16_t(a)); });
}

void Pit8254::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort) return;
  split_write(addr, size, value, [this](uint64_t a, uint8_t b) { write_byte(uint16_t(a), b); });
}

unsigned Pit8254::reg_of(Space s, uint64_t addr, bool) const {
  if (s != Space::kPort) return kOther;
  switch (addr) {
    case 0x40: return kC0;
    case 0x41: return kC1;
    case 0x42: return kC2;
    case kControl: return kCtrl;
    case kPortB: return kPortBReg;
    default: return kOther;
  }
}

}  // namespace sim
