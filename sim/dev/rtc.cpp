#include "sim/dev/rtc.h"

#include <algorithm>
#include <climits>

#include "sim/dev/irq.h"

namespace sim {

namespace {

constexpr uint8_t kRegA = 0x0A, kRegB = 0x0B, kRegC = 0x0C, kRegD = 0x0D;
constexpr uint8_t kCentury = 0x32;
// Register B bits.
constexpr uint8_t kSet = 0x80, kPie = 0x40, kAie = 0x20, kUie = 0x10, kSqwe = 0x08,
                  kBinary = 0x04, k24h = 0x02;
// Register C bits.
constexpr uint8_t kIrqf = 0x80, kPf = 0x40, kAf = 0x20, kUf = 0x10;
constexpr int64_t kSecondTicks = 32768;
constexpr int64_t kUipTicks = 8;  // 244 us
constexpr int64_t kDay = 86400;

enum Reg : unsigned { kIndex, kSec, kSecAlarm, kMin, kMinAlarm, kHour, kHourAlarm, kDow, kDom,
                      kMonth, kYear, kA, kB, kC, kD, kRam, kOther };

std::vector<std::string> rtc_regs() {
  return {"index", "sec", "sec_alarm", "min", "min_alarm", "hour", "hour_alarm", "dow",
          "day", "month", "year", "a", "b", "c", "d", "ram", "other"};
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Proleptic Gregorian calendar <-> days since 1970-01-01 (the era-based method).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = unsigned(doy - (153 * mp + 2) / 5 + 1);
  m = unsigned(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

bool is_time_reg(unsigned i) {
  return i == 0 || i == 2 || i == 4 || (i >= 6 && i <= 9) || i == kCentury;
}

}  // namespace

CmosRtc::CmosRtc(DeviceContext& ctx, uint64_t ram_bytes, int64_t start_unix_seconds)
    : Device(ctx, "rtc", rtc_regs()) {
  timer_ = ctx.events->add("rtc", [this](uint64_t due) { fire(due); });
  // Registers as the firmware leaves them: 32.768 kHz time base, 1024 Hz rate
  // selected (not enabled), BCD, 24 h; valid RAM and time.
  cmos_[kRegA] = 0x26;
  cmos_[kRegB] = k24h;
  cmos_[kRegD] = 0x80;
  origin_ = checked_ = tick();
  store_time(start_unix_seconds);
  thaw(origin_);

  // The memory-size bytes QEMU's pc_cmos_init writes and bootloaders read.
  const uint64_t kib = 1024, mib = 1024 * kib;
  cmos_[0x14] = 0x06;  // equipment: FPU, PS/2 mouse, EGA/VGA, no floppy
  cmos_[0x15] = 640 & 0xFF;
  cmos_[0x16] = 640 >> 8;
  const uint64_t ext = std::min<uint64_t>(ram_bytes > mib ? (ram_bytes - mib) / kib : 0, 0xFFFF);
  cmos_[0x17] = cmos_[0x30] = uint8_t(ext);
  cmos_[0x18] = cmos_[0x31] = uint8_t(ext >> 8);
  const uint64_t above16 =
      std::min<uint64_t>(ram_bytes > 16 * mib ? (ram_bytes - 16 * mib) / (64 * kib) : 0, 0xFFFF);
  cmos_[0x34] = uint8_t(above16);
  cmos_[0x35] = uint8_t(above16 >> 8);
  const uint64_t g4 = 4096 * mib;
  const uint64_t above4g = ram_bytes > g4 ? (ram_bytes - g4) / (64 * kib) : 0;
  cmos_[0x5B] = uint8_t(above4g);
  cmos_[0x5C] = uint8_t(above4g >> 8);
  cmos_[0x5D] = uint8_t(above4g >> 16);
  // The AT checksum: the sum of 0x10-0x2D, high byte at 0x2E.
  unsigned sum = 0;
  for (unsigned i = 0x10; i <= 0x2D; ++i) sum += cmos_[i];
  cmos_[0x2E] = uint8_t(sum >> 8);
  cmos_[0x2F] = uint8_t(sum);
}

void CmosRtc::reset() {
  catch_up(tick());
  cmos_[kRegB] &= uint8_t(~(kPie | kAie | kUie | kSqwe));
  flags_ = 0;
  reschedule();
}

void CmosRtc::set_cpus(unsigned n) { cmos_[0x5F] = uint8_t(n ? n - 1 : 0); }

int64_t CmosRtc::unix_time() const { return updating() ? secs_at(tick()) : load_time(); }

int64_t CmosRtc::updates_at(int64_t t) const { return floor_div(t - origin_, kSecondTicks); }

int64_t CmosRtc::secs_at(int64_t t) const { return secs_base_ + updates_at(t) - n_base_; }

int64_t CmosRtc::period_ticks() const {
  // Register A RS3-0 with the 32.768 kHz time base (datasheet Table "Periodic
  // Interrupt Rate"): 1 and 2 give 256 and 128 Hz, 3-15 give 32768 >> (RS - 1) Hz.
  const unsigned rs = cmos_[kRegA] & 15;
  if (rs == 0) return 0;
  if (rs <= 2) return int64_t(1) << (rs + 6);
  return int64_t(1) << (rs - 1);
}

bool CmosRtc::uip_at(int64_t t) const {
  if (!updating()) return false;
  const int64_t next = origin_ + (updates_at(t) + 1) * kSecondTicks;
  return next - t <= kUipTicks;
}

uint8_t CmosRtc::encode(unsigned v) const {
  if (cmos_[kRegB] & kBinary) return uint8_t(v);
  v %= 100;
  return uint8_t((v / 10) << 4 | v % 10);
}

unsigned CmosRtc::decode(uint8_t b) const {
  if (cmos_[kRegB] & kBinary) return b;
  return (b >> 4) * 10u + (b & 15);  // invalid digits count at face value
}

uint8_t CmosRtc::encode_hour(unsigned h) const {
  if (cmos_[kRegB] & k24h) return encode(h);
  const unsigned h12 = h % 12 == 0 ? 12 : h % 12;
  return uint8_t(encode(h12) | (h >= 12 ? 0x80 : 0));
}

void CmosRtc::store_time(int64_t secs) { fill_time(secs, cmos_); }

void CmosRtc::fill_time(int64_t secs, uint8_t* r) const {
  const int64_t days = floor_div(secs, kDay), tod = secs - days * kDay;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  r[0x00] = encode(unsigned(tod % 60));
  r[0x02] = encode(unsigned(tod / 60 % 60));
  r[0x04] = encode_hour(unsigned(tod / 3600));
  r[0x06] = encode(unsigned(floor_mod(days + 4, 7)) + 1);  // 1970-01-01: Thursday
  r[0x07] = encode(d);
  r[0x08] = encode(m);
  r[0x09] = encode(unsigned(floor_mod(y, 100)));
  r[kCentury] = encode(unsigned(floor_mod(floor_div(y, 100), 100)));
}

int64_t CmosRtc::load_time() const {
  const uint8_t hb = cmos_[0x04];
  unsigned hour;
  if (cmos_[kRegB] & k24h)
    hour = decode(hb);
  else
    hour = decode(hb & 0x7F) % 12 + (hb & 0x80 ? 12 : 0);
  int64_t y = int64_t(decode(cmos_[kCentury])) * 100 + decode(cmos_[0x09]);
  int64_t m0 = int64_t(decode(cmos_[0x08])) - 1;  // month 0 or 13+: normalized
  y += floor_div(m0, 12);
  m0 = floor_mod(m0, 12);
  const int64_t days = days_from_civil(y, unsigned(m0 + 1), 1) + int64_t(decode(cmos_[0x07])) - 1;
  return days * kDay + int64_t(hour) * 3600 + int64_t(decode(cmos_[0x02])) * 60 +
         decode(cmos_[0x00]);
}

int64_t CmosRtc::next_alarm(int64_t from) const {
  // The first second >= `from` whose time of day matches, skipping whole hours and
  // minutes that cannot match; the pattern repeats daily.
  int64_t s = from;
  while (s < from + kDay) {
    const int64_t tod = floor_mod(s, kDay);
    const uint8_t ah = cmos_[0x05], am = cmos_[0x03], as = cmos_[0x01];
    if ((ah & 0xC0) != 0xC0 && ah != encode_hour(unsigned(tod / 3600))) {
      s += 3600 - tod % 3600;
    } else if ((am & 0xC0) != 0xC0 && am != encode(unsigned(tod / 60 % 60))) {
      s += 60 - tod % 60;
    } else if ((as & 0xC0) != 0xC0 && as != encode(unsigned(tod % 60))) {
      s += 1;
    } else {
      return s;
    }
  }
  return INT64_MAX;
}

uint8_t CmosRtc::flags_at(int64_t t) const {
  uint8_t f = flags_;
  if (t <= checked_ || !divider_running()) return f;
  const int64_t p = period_ticks();
  if (p && floor_div(t - origin_, p) > floor_div(checked_ - origin_, p)) f |= kPf;
  if (updating()) {
    const int64_t n0 = updates_at(checked_), n1 = updates_at(t);
    if (n1 > n0) {
      f |= kUf;
      // AF: the time after one of the updates n0+1..n1 matched the alarm.
      if (!(f & kAf) && next_alarm(secs_base_ + n0 + 1 - n_base_) <= secs_base_ + n1 - n_base_)
        f |= kAf;
    }
  }
  return f;
}

void CmosRtc::catch_up(int64_t t) {
  if (t <= checked_) return;
  flags_ = flags_at(t);
  checked_ = t;
}

void CmosRtc::update_irq() {
  const bool level = flags_ & cmos_[kRegB] & (kPf | kAf | kUf);
  if (level == irq_) return;
  irq_ = level;
  if (ctx_.irq) ctx_.irq->set_isa_irq(8, level);
  if (level) trace("irq", "IRQF set: IRQ 8");
}

void CmosRtc::reschedule() {
  update_irq();
  int64_t next = INT64_MAX;
  const uint8_t b = cmos_[kRegB];
  if (!irq_ && divider_running()) {
    const int64_t t = checked_, p = period_ticks();
    if ((b & kPie) && p) next = origin_ + (floor_div(t - origin_, p) + 1) * p;
    if (updating()) {
      const int64_t n = updates_at(t);
      if (b & kUie) next = std::min(next, origin_ + (n + 1) * kSecondTicks);
      if (b & kAie) {
        const int64_t s = next_alarm(secs_base_ + n + 1 - n_base_);
        if (s != INT64_MAX)
          next = std::min(next, origin_ + (s - secs_base_ + n_base_) * kSecondTicks);
      }
    }
  }
  if (next == INT64_MAX)
    ctx_.events->cancel(timer_);
  else
    ctx_.events->schedule(timer_, ctx_.cycle_of_tick(uint64_t(next), kTimeBaseHz));
}

void CmosRtc::fire(uint64_t due) {
  catch_up(int64_t(ctx_.ticks_at(due, kTimeBaseHz)));
  reschedule();
}

void CmosRtc::freeze(int64_t t) { store_time(secs_at(t)); }

void CmosRtc::thaw(int64_t t) {
  secs_base_ = load_time();
  n_base_ = updates_at(t);
}

uint8_t CmosRtc::peek(uint8_t index) const {
  const unsigned i = index & 0x7F;
  switch (i) {
    case kRegA: return uint8_t((cmos_[kRegA] & 0x7F) | (uip_at(tick()) ? 0x80 : 0));
    case kRegC: {
      const uint8_t f = flags_at(tick());
      return uint8_t(f | ((f & cmos_[kRegB] & 0x70) ? kIrqf : 0));
    }
    case kRegD: return 0x80;  // VRT: the battery is good
    default: break;
  }
  if (is_time_reg(i) && updating()) {
    uint8_t regs[128];
    fill_time(secs_at(tick()), regs);
    return regs[i];
  }
  return cmos_[i];
}

uint8_t CmosRtc::read_data() {
  const unsigned i = index_;
  if (i != kRegC) return peek(uint8_t(i));
  // Reading C returns and clears the flags (datasheet "Register C"), lowering IRQ 8.
  catch_up(tick());
  const uint8_t v = uint8_t(flags_ | ((flags_ & cmos_[kRegB] & 0x70) ? kIrqf : 0));
  flags_ = 0;
  reschedule();
  return v;
}

void CmosRtc::write_data(uint8_t v) {
  const unsigned i = index_;
  const int64_t t = tick();
  catch_up(t);
  if (is_time_reg(i)) {
    // Written while running: the other fields keep the current time and the
    // divider keeps its phase; while halted the byte is simply stored.
    if (updating()) {
      freeze(t);
      cmos_[i] = v;
      thaw(t);
    } else {
      cmos_[i] = v;
    }
  } else if (i == kRegA) {
    // DV = 11x holds the divider chain in reset: no updates, no periodic edges.
    const bool was_running = divider_running(), was_updating = updating();
    const bool will_run = (v & 0x60) != 0x60;
    if (was_updating && !will_run) freeze(t);
    cmos_[kRegA] = v & 0x7F;  // UIP is read-only
    if (!was_running && will_run) origin_ = t - kSecondTicks / 2;  // first update in 500 ms
    if (!was_updating && updating()) thaw(t);
  } else if (i == kRegB) {
    // SET halts updates: the registers take the time (in the old format) and read
    // back as written until SET is cleared. A format change while running only
    // changes how the time reads.
    const bool was_updating = updating();
    if (was_updating && (v & kSet)) freeze(t);
    if (v & kSet) v &= uint8_t(~kUie);  // SET clears UIE (datasheet "Register B")
    cmos_[kRegB] = v;
    if (!was_updating && updating()) thaw(t);
  } else if (i == kRegC || i == kRegD) {
    return;  // read-only
  } else {
    cmos_[i] = v;
  }
  reschedule();
}

uint8_t CmosRtc::read_byte(uint16_t port) {
  if (port == kDataPort) return read_data();
  return 0xFF;  // the index port is write-only
}

void CmosRtc::write_byte(uint16_t port, uint8_t v) {
  if (port == kIndexPort) {
    index_ = v & 0x7F;
    nmi_disabled_ = v & 0x80;
  } else if (port == kDataPort) {
    write_data(v);
  }
}

uint64_t CmosRtc::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kPort) return ~0ull;
  return split_read(addr, size, [this](uint64_t a) { return read_byte(uint16_t(a)); });
}

void CmosRtc::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort) return;
  split_write(addr, size, value, [this](uint64_t a, uint8_t b) { write_byte(uint16_t(a), b); });
}

unsigned CmosRtc::reg_of(Space s, uint64_t addr, bool) const {
  if (s != Space::kPort) return kOther;
  if (addr == kIndexPort) return kIndex;
  if (addr != kDataPort) return kOther;
  if (index_ <= kRegD) return kSec + index_;
  return kRam;
}

}  // namespace sim
