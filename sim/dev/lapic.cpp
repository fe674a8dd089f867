#include "sim/dev/lapic.h"

#include <algorithm>
#include <cstdio>

namespace sim {

namespace {

// Register index = xAPIC offset / 16 = x2APIC MSR - 0x800 (SDM Vol. 3A Table 11-1,
// Table 11-6); 64 = IA32_TSC_DEADLINE, 65 = any access that addresses no register
// (unaligned, outside 0x000-0x3F0, outside the x2APIC range).
enum Reg : unsigned {
  kId = 0x02, kVer = 0x03, kTpr = 0x08, kApr = 0x09, kPpr = 0x0A, kEoi = 0x0B,
  kRrd = 0x0C, kLdr = 0x0D, kDfr = 0x0E, kSvr = 0x0F, kIsr0 = 0x10, kTmr0 = 0x18,
  kIrr0 = 0x20, kEsr = 0x28, kLvtCmci = 0x2F, kIcrLo = 0x30, kIcrHi = 0x31,
  kLvtTimer = 0x32, kLvtError = 0x37, kInitCount = 0x38, kCurCount = 0x39, kDcr = 0x3E,
  kSelfIpi = 0x3F, kRegTscDeadline = 0x40, kRegInvalid = 0x41,
};

std::vector<std::string> lapic_reg_names() {
  std::vector<std::string> n(kRegInvalid + 1);
  for (unsigned i = 0; i < 0x40; i++) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "rsvd_%03x", i * 16);
    n[i] = buf;
  }
  n[kId] = "id", n[kVer] = "version", n[kTpr] = "tpr", n[kApr] = "apr", n[kPpr] = "ppr";
  n[kEoi] = "eoi", n[kRrd] = "rrd", n[kLdr] = "ldr", n[kDfr] = "dfr", n[kSvr] = "svr";
  for (unsigned i = 0; i < 8; i++) {
    n[kIsr0 + i] = "isr" + std::to_string(i);
    n[kTmr0 + i] = "tmr" + std::to_string(i);
    n[kIrr0 + i] = "irr" + std::to_string(i);
  }
  n[kEsr] = "esr", n[kLvtCmci] = "lvt_cmci", n[kIcrLo] = "icr_lo", n[kIcrHi] = "icr_hi";
  const char* lvts[] = {"lvt_timer", "lvt_thermal", "lvt_perf", "lvt_lint0", "lvt_lint1",
                        "lvt_error"};
  for (unsigned i = 0; i < 6; i++) n[kLvtTimer + i] = lvts[i];
  n[kInitCount] = "initial_count", n[kCurCount] = "current_count", n[kDcr] = "dcr";
  n[kSelfIpi] = "self_ipi", n[kRegTscDeadline] = "tsc_deadline", n[kRegInvalid] = "invalid";
  return n;
}

// LVT index of a register index, or -1.
int lvt_of(unsigned idx) {
  if (idx == kLvtCmci) return LocalApic::kCmci;
  if (idx >= kLvtTimer && idx <= kLvtError) return int(idx - kLvtTimer) + 1;
  return -1;
}

// Writable bits of each LVT entry (11.5.1, Figure 11-8) and the read-only status
// bits (delivery status 12, remote IRR 14) that software may write back unchanged.
constexpr uint32_t kLvtWritable[LocalApic::kLvtCount] = {
    0x000107FF,  // CMCI: vector, delivery mode, mask
    0x000700FF,  // timer: vector, mask, mode (18:17)
    0x000107FF,  // thermal
    0x000107FF,  // perf
    0x0001A7FF,  // LINT0: + polarity 13, trigger 15
    0x0001A7FF,  // LINT1
    0x000100FF,  // error: vector, mask
};
constexpr uint32_t kLvtStatus = 1u << 12, kLvtRemoteIrr = 1u << 14;

// ICR low (11.6.1): vector, delivery mode, destination mode, level, trigger, shorthand.
constexpr uint32_t kIcrWritable = 0x000CCFFF;

// ESR bits (11.5.3, Figure 11-9).
constexpr uint32_t kEsrSendIllegal = 1u << 5, kEsrRecvIllegal = 1u << 6,
                   kEsrIllegalReg = 1u << 7;

enum DeliveryMode : unsigned {
  kFixed = 0, kLowest = 1, kSmi = 2, kNmi = 4, kInit = 5, kStartup = 6, kExtInt = 7
};

}  // namespace

LocalApic::LocalApic(DeviceContext& ctx, ExtIntSource* pic, uint64_t crystal_hz,
                     std::function<uint64_t(uint64_t cycles)> tsc_of)
    : Device(ctx, "lapic", lapic_reg_names()),
      pic_(pic),
      crystal_hz_(crystal_hz ? crystal_hz : 25'000'000),
      tsc_of_(std::move(tsc_of)) {
  if (!tsc_of_) tsc_of_ = [](uint64_t c) { return c; };
  timer_ev_ = ctx_.events->add("lapic.timer", [this](uint64_t due) { timer_event(due); });
  reset();
}

int LocalApic::highest(const Bits256& b) {
  for (int i = 7; i >= 0; i--)
    if (b[i]) return i * 32 + 31 - __builtin_clz(b[i]);
  return -1;
}

// ---- state and modes ------------------------------------------------------------

void LocalApic::power_up_state() {
  // 11.4.7.1: IRR/ISR/TMR/ICR/LDR/TPR/timer cleared, DFR all ones, SVR 0xFF, every
  // LVT entry masked (0x00010000).
  tpr_ = 0, svr_ = 0xFF, ldr_ = 0, dfr_ = 0xFFFFFFFF;
  esr_ = esr_pending_ = 0;
  icr_lo_ = icr_hi_ = 0;
  for (uint32_t& l : lvt_) l = kLvtMask;
  initial_count_ = dcr_ = 0;
  irr_ = isr_ = tmr_ = Bits256{};
  extint_msg_ = false;
  counting_ = false;
  deadline_ = 0;
  ctx_.events->cancel(timer_ev_);
}

void LocalApic::reset() {
  apic_base_ = kResetBase;
  id_ = 0;
  power_up_state();
  lint1_level_ = false;
  // What QEMU's reset and firmware leave on the BSP: LINT0 ExtINT unmasked (virtual
  // wire: the 8259 reaches the CPU before the OS sets up the APIC), LINT1 NMI masked.
  lvt_[kLint0] = 0x700;
  lvt_[kLint1] = kLvtMask | (kNmi << 8);
  intr_changed();
}

void LocalApic::apic_base_written(uint64_t value) {
  const bool was_en = hw_enabled(), was_x2 = x2apic();
  const uint64_t old_base = base();
  apic_base_ = value;
  if (was_en && !hw_enabled()) {
    // 11.4.3: hardware disable = power-up state (the ID survives); the 8259 now
    // drives INTR directly.
    power_up_state();
    trace("irq", "hardware-disabled");
  } else if (!was_x2 && x2apic()) {
    // 11.12.5.1: xAPIC -> x2APIC: the ID becomes the (32-bit) initial APIC ID and the
    // LDR is derived from it (11.12.10.2); everything else is kept.
    id_ = 0;
    ldr_ = ((id_ >> 4) << 16) | (1u << (id_ & 0xF));
    icr_hi_ = 0;
    trace("irq", "x2APIC mode");
  }
  if (xapic_mmio_enabled() && (base() != old_base || !was_en || was_x2) && on_relocate)
    on_relocate(base());
  intr_changed();
}

uint8_t LocalApic::ppr() const {
  // 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0.
  const int isrv = std::max(highest(isr_), 0);
  if ((tpr_ & 0xF0) >= uint32_t(isrv & 0xF0)) return uint8_t(tpr_);
  return uint8_t(isrv & 0xF0);
}

uint8_t LocalApic::apr() const {
  // 11.6.2.4 (arbitration priority): TPR if TPR[7:4] >= IRRV[7:4] and > ISRV[7:4],
  // else the highest of the three priority classes.
  const uint32_t t = tpr_ & 0xF0;
  const uint32_t i = uint32_t(std::max(highest(isr_), 0)) & 0xF0;
  const uint32_t r = uint32_t(std::max(highest(irr_), 0)) & 0xF0;
  if (t >= r && t > i) return uint8_t(tpr_);
  return uint8_t(std::max({t, i, r}));
}

void LocalApic::set_tpr(uint8_t v) {
  tpr_ = v;
  intr_changed();
}

void LocalApic::write_svr(uint32_t v) {
  svr_ = v;
  // 11.4.7.2: software-disabled, every LVT mask bit is set.
  if (!sw_enabled())
    for (uint32_t& l : lvt_) l |= kLvtMask;
  intr_changed();
}

void LocalApic::write_lvt(Lvt which, uint32_t v) {
  v &= kLvtWritable[which];
  if (!sw_enabled()) v |= kLvtMask;  // 11.4.7.2: the mask cannot be cleared
  if (which == kLint0 || which == kLint1) v |= lvt_[which] & kLvtRemoteIrr;
  if (which == kTimer) {
    const TimerMode old_mode = timer_mode();
    lvt_[kTimer] = v;
    // 11.5.4.1: a change to or from TSC-deadline mode disarms the timer.
    if ((old_mode == kTscDeadline) != (timer_mode() == kTscDeadline)) {
      initial_count_ = 0;
      counting_ = false;
      deadline_ = 0;
      ctx_.events->cancel(timer_ev_);
    }
    return;
  }
  lvt_[which] = v;
  if (which == kLint0) intr_changed();
}

// ---- register file ---------------------------------------------------------------

LocalApic::Access LocalApic::read_reg(unsigned idx, uint64_t& v) {
  const bool x2 = x2apic();
  v = 0;
  if (int l = lvt_of(idx); l >= 0) {
    v = lvt_[l];
    return Access::kOk;
  }
  if (idx >= kIsr0 && idx < kIsr0 + 8) return v = isr_[idx - kIsr0], Access::kOk;
  if (idx >= kTmr0 && idx < kTmr0 + 8) return v = tmr_[idx - kTmr0], Access::kOk;
  if (idx >= kIrr0 && idx < kIrr0 + 8) return v = irr_[idx - kIrr0], Access::kOk;
  switch (idx) {
    case kId: v = x2 ? id_ : id_ << 24; return Access::kOk;
    case kVer: v = kVersion; return Access::kOk;
    case kTpr: v = tpr_; return Access::kOk;
    case kApr:
      if (x2) return Access::kAbsent;
      v = apr();
      return Access::kOk;
    case kPpr: v = ppr(); return Access::kOk;
    case kEoi: return Access::kWriteOnly;
    case kRrd: return x2 ? Access::kAbsent : Access::kOk;  // remote read: never valid
    case kLdr: v = ldr_; return Access::kOk;
    case kDfr:
      if (x2) return Access::kAbsent;  // 11.12.10.2: no DFR in x2APIC mode
      v = dfr_;
      return Access::kOk;
    case kSvr: v = svr_; return Access::kOk;
    case kEsr: v = esr_; return Access::kOk;
    case kIcrLo:
      v = icr_lo_;  // delivery status (bit 12) is always 0: delivery is instantaneous
      if (x2) v |= uint64_t(icr_hi_) << 32;
      return Access::kOk;
    case kIcrHi:
      if (x2) return Access::kAbsent;
      v = icr_hi_;
      return Access::kOk;
    case kInitCount: v = initial_count_; return Access::kOk;
    case kCurCount: v = current_count(); return Access::kOk;
    case kDcr: v = dcr_; return Access::kOk;
    case kSelfIpi: return x2 ? Access::kWriteOnly : Access::kAbsent;
    default: return Access::kAbsent;
  }
}

LocalApic::Access LocalApic::write_reg(unsigned idx, uint64_t v, bool x2) {
  // 11.12.1.2: in x2APIC mode the 32-bit registers have 32 reserved upper bits.
  if (x2 && idx != kIcrLo && (v >> 32)) return Access::kReserved;
  const uint32_t v32 = uint32_t(v);
  if (int l = lvt_of(idx); l >= 0) {
    const uint32_t ok = kLvtWritable[l] | kLvtStatus | (l == kLint0 || l == kLint1 ? kLvtRemoteIrr : 0);
    if (x2 && (v32 & ~ok)) return Access::kReserved;
    write_lvt(Lvt(l), v32);
    return Access::kOk;
  }
  if (idx >= kIsr0 && idx < kIrr0 + 8) return Access::kReadOnly;
  switch (idx) {
    case kId:
      // The xAPIC ID is writable on some models (11.4.6) and in QEMU; the x2APIC ID
      // is read-only.
      if (x2) return Access::kReadOnly;
      id_ = v32 >> 24;
      return Access::kOk;
    case kVer:
    case kPpr: return Access::kReadOnly;
    case kApr:
    case kRrd: return x2 ? Access::kAbsent : Access::kReadOnly;
    case kTpr:
      if (x2 && (v32 & ~0xFFu)) return Access::kReserved;
      set_tpr(uint8_t(v32));
      return Access::kOk;
    case kEoi:
      if (x2 && v32) return Access::kReserved;  // 11.12.1.2: non-zero EOI is #GP
      eoi();
      return Access::kOk;
    case kLdr:
      if (x2) return Access::kReadOnly;  // 11.12.10.2: derived from the x2APIC ID
      ldr_ = v32 & 0xFF000000;
      return Access::kOk;
    case kDfr:
      if (x2) return Access::kAbsent;
      dfr_ = v32 | 0x0FFFFFFF;  // 11.6.2.2: model in 31:28, the rest reads ones
      return Access::kOk;
    case kSvr:
      // Vector, APIC enable (8), focus processor checking disabled (9); no EOI-
      // broadcast suppression (bit 12 reserved: LVR bit 24 = 0).
      if (x2 && (v32 & ~0x3FFu)) return Access::kReserved;
      write_svr(v32 & 0x3FF);
      return Access::kOk;
    case kEsr:
      // 11.5.3: a write latches the errors since the last write and clears them.
      if (x2 && v32) return Access::kReserved;
      esr_ = esr_pending_;
      esr_pending_ = 0;
      return Access::kOk;
    case kIcrLo: {
      if (x2 && (v32 & ~kIcrWritable)) return Access::kReserved;
      icr_lo_ = v32 & kIcrWritable;
      if (x2) icr_hi_ = uint32_t(v >> 32);
      send_ipi(icr_lo_, x2 ? icr_hi_ : icr_hi_ >> 24);
      return Access::kOk;
    }
    case kIcrHi:
      if (x2) return Access::kAbsent;
      icr_hi_ = v32 & 0xFF000000;
      return Access::kOk;
    case kInitCount:
      // 11.5.4.1: ignored in TSC-deadline mode.
      if (timer_mode() == kTscDeadline) return Access::kOk;
      initial_count_ = v32;
      start_count(v32);
      return Access::kOk;
    case kCurCount: return Access::kReadOnly;
    case kDcr: {
      if (x2 && (v32 & ~0xBu)) return Access::kReserved;  // bit 2 is reserved
      const uint32_t cur = counting_ ? current_count() : 0;
      dcr_ = v32 & 0xB;
      if (cur) start_count(cur);  // keep counting from here at the new rate
      return Access::kOk;
    }
    case kSelfIpi: {
      if (!x2) return Access::kAbsent;
      if (v32 & ~0xFFu) return Access::kReserved;
      ipis_sent_++;
      const uint8_t vec = uint8_t(v32);
      // 11.12.11: a fixed, edge, self-directed IPI; 11.5.3 for an illegal vector.
      if (vec < 16) error(kEsrSendIllegal | kEsrRecvIllegal);
      else accept_local(vec, false);
      return Access::kOk;
    }
    default: return Access::kAbsent;
  }
}

// ---- xAPIC MMIO -----------------------------------------------------------------

unsigned LocalApic::reg_of(Space, uint64_t addr, bool) const {
  if ((addr & 0xF) || addr >= 0x400) return kRegInvalid;
  return unsigned(addr >> 4);
}

uint64_t LocalApic::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kMmio) return ~0ull;
  if (!xapic_mmio_enabled()) return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  if (size != 4 || (addr & 0xF) || addr >= 0x400) return 0;
  uint64_t v;
  const Access a = read_reg(unsigned(addr >> 4), v);
  if (a == Access::kAbsent) error(kEsrIllegalReg);
  return a == Access::kOk ? uint32_t(v) : 0;
}

void LocalApic::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kMmio || !xapic_mmio_enabled()) return;
  if (size != 4 || (addr & 0xF) || addr >= 0x400) return;
  if (write_reg(unsigned(addr >> 4), uint32_t(value), false) == Access::kAbsent)
    error(kEsrIllegalReg);
}

// ---- MSRs -----------------------------------------------------------------------

bool LocalApic::rdmsr(uint32_t index, uint64_t& value) {
  if (index == kMsrTscDeadline) {
    // 11.5.4.1: reads 0 outside TSC-deadline mode and once the deadline has passed.
    value = timer_mode() == kTscDeadline ? deadline_ : 0;
    count(kRegTscDeadline, false, value);
    return true;
  }
  if (index < 0x800 || index > 0x8FF) return false;
  if (!x2apic() || index > 0x83F) {
    count(kRegInvalid, false, 0);
    return false;
  }
  const unsigned idx = index - 0x800;
  const Access a = read_reg(idx, value);
  count(a == Access::kOk ? idx : unsigned(kRegInvalid), false, value);
  return a == Access::kOk;
}

bool LocalApic::wrmsr(uint32_t index, uint64_t value) {
  if (index == kMsrTscDeadline) {
    count(kRegTscDeadline, true, value);
    if (timer_mode() != kTscDeadline || !hw_enabled()) return true;  // ignored
    deadline_ = value;
    arm_deadline();
    return true;
  }
  if (index < 0x800 || index > 0x8FF) return false;
  if (!x2apic() || index > 0x83F) {
    count(kRegInvalid, true, value);
    return false;
  }
  const unsigned idx = index - 0x800;
  count(idx, true, value);
  return write_reg(idx, value, true) == Access::kOk;
}

// ---- interrupts -----------------------------------------------------------------

void LocalApic::error(uint32_t bits) {
  const uint32_t fresh = bits & ~esr_pending_;
  esr_pending_ |= bits;
  // 11.5.3: an error raises the LVT error interrupt. A new bit is needed, so an
  // illegal error vector reports itself once and stops.
  if (fresh) deliver_lvt(kError);
}

void LocalApic::accept_local(uint8_t vector, bool level) {
  if (vector < 16) {  // 11.5.3: never accepted into IRR
    error(kEsrRecvIllegal);
    return;
  }
  if (!sw_enabled()) return;  // 11.4.7.2: a software-disabled APIC takes no fixed interrupt
  put(irr_, vector, true);
  put(tmr_, vector, level);  // 11.8.4: TMR follows the trigger mode on acceptance
  intr_changed();
}

void LocalApic::deliver_lvt(Lvt which) {
  const uint32_t v = lvt_[which];
  if (v & kLvtMask) return;
  const uint8_t vec = uint8_t(v);
  if (which == kTimer || which == kError) {
    accept_local(vec, false);
    return;
  }
  switch ((v >> 8) & 7) {
    case kFixed: accept_local(vec, (which == kLint0 || which == kLint1) && (v & (1u << 15))); break;
    case kNmi:
      if (raise_nmi) raise_nmi();
      break;
    default: break;  // SMI, INIT, ExtINT from a non-LINT0 entry: not modelled
  }
}

void LocalApic::raise_lvt(Lvt which) {
  if (which < kLvtCount && hw_enabled()) deliver_lvt(which);
}

void LocalApic::set_lint1(bool level) {
  const bool rise = level && !lint1_level_;
  lint1_level_ = level;
  if (rise) raise_lvt(kLint1);
}

void LocalApic::eoi() {
  const int v = highest(isr_);
  if (v < 0) return;
  put(isr_, uint8_t(v), false);
  // 11.8.5: EOI of a level-triggered vector is broadcast to the I/O APICs.
  if (get(tmr_, uint8_t(v)) && on_eoi_broadcast) on_eoi_broadcast(uint8_t(v));
  intr_changed();
}

void LocalApic::send_ipi(uint32_t lo, uint32_t dest) {
  ipis_sent_++;
  const uint8_t vec = uint8_t(lo);
  const unsigned mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
  const bool logical = lo & (1u << 11), assert_ = lo & (1u << 14), level = lo & (1u << 15);
  // 11.6.1: shorthand 01 = self, 10 = all including self, 11 = all excluding self.
  const bool self = shorthand == 1 || shorthand == 2 || (shorthand == 0 && matches(dest, logical));
  if (ctx_.tracing()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "IPI icr=0x%08x dest=0x%x%s", lo, dest, self ? " (self)" : "");
    trace("irq", buf);
  }
  switch (mode) {
    case kFixed:
    case kLowest:
      if (vec < 16) {
        error(kEsrSendIllegal | (self ? kEsrRecvIllegal : 0));
        return;
      }
      if (self) accept_local(vec, level);
      else ipis_dropped_++;  // only absent CPUs addressed
      return;
    case kNmi:
      if (self && raise_nmi) raise_nmi();
      else ipis_dropped_++;
      return;
    case kInit:
      // 11.6.1: INIT level de-assert (level = 1, assert = 0) only synchronises
      // arbitration IDs; any other INIT to self is an INIT signal to this CPU.
      if (self && !(level && !assert_) && raise_init) raise_init();
      else ipis_dropped_++;
      return;
    default:
      // SIPI, SMI, reserved modes: only absent CPUs could take them.
      ipis_dropped_++;
      return;
  }
}

bool LocalApic::matches(uint32_t dest, bool logical) const {
  if (!hw_enabled()) return false;
  if (x2apic()) {
    // 11.12.10: physical = the 32-bit ID; logical = cluster (31:16) + bit mask (15:0).
    if (dest == 0xFFFFFFFF) return true;
    if (!logical) return dest == id_;
    return (dest >> 16) == (ldr_ >> 16) && (dest & ldr_ & 0xFFFF);
  }
  dest &= 0xFF;
  if (dest == 0xFF) return true;  // 11.6.2: broadcast in both destination modes
  if (!logical) return dest == (id_ & 0xFF);
  const uint32_t ld = ldr_ >> 24;
  if ((dfr_ >> 28) == 0xF) return dest & ld;                 // flat model (11.6.2.2)
  return (dest >> 4) == (ld >> 4) && (dest & ld & 0xF);     // cluster model
}

void LocalApic::accept(uint8_t vector, unsigned delivery_mode, bool level, bool assert_) {
  if (!hw_enabled()) return;
  switch (delivery_mode & 7) {
    case kFixed:
    case kLowest:
      if (assert_) accept_local(vector, level);
      return;
    case kNmi:
      if (raise_nmi) raise_nmi();
      return;
    case kExtInt:
      // The 8259 supplies the vector in the acknowledge cycle (11.6.1, ExtINT).
      extint_msg_ = true;
      intr_changed();
      return;
    default: return;  // SMI, INIT, reserved
  }
}

bool LocalApic::extint_active() const {
  // LINT0 in ExtINT mode and unmasked (virtual wire), or an ExtINT message waits.
  return (lvt_[kLint0] & (kLvtMask | 0x700)) == 0x700 || extint_msg_;
}

bool LocalApic::intr_pending() {
  if (!hw_enabled()) return pic_ && pic_->int_output();  // 11.4.3: 8259 straight to INTR
  if (pic_ && extint_active() && pic_->int_output()) return true;
  if (!sw_enabled()) return false;
  const int v = highest(irr_);
  return v >= 0 && uint32_t(v & 0xF0) > uint32_t(ppr() & 0xF0);
}

uint8_t LocalApic::acknowledge() {
  if (!hw_enabled()) return pic_ ? pic_->acknowledge() : uint8_t(svr_);
  if (pic_ && extint_active() && pic_->int_output()) {
    extint_msg_ = false;
    return pic_->acknowledge();  // no ISR bit for ExtINT
  }
  if (sw_enabled()) {
    const int v = highest(irr_);
    if (v >= 0 && uint32_t(v & 0xF0) > uint32_t(ppr() & 0xF0)) {
      put(irr_, uint8_t(v), false);
      put(isr_, uint8_t(v), true);
      intr_changed();
      return uint8_t(v);
    }
  }
  // 11.9: the request went away (masked by a TPR raise) between INTR and INTA: the
  // spurious vector, no ISR bit, no EOI expected.
  spurious_++;
  return uint8_t(svr_);
}

uint64_t LocalApic::next_event(uint64_t) {
  return ctx_.events->armed(timer_ev_) ? ctx_.events->due(timer_ev_) : ~0ull;
}

// ---- timer (11.5.4) ----------------------------------------------------------------

LocalApic::TimerMode LocalApic::timer_mode() const {
  const unsigned m = (lvt_[kTimer] >> 17) & 3;
  return m == 3 ? kOneShot : TimerMode(m);  // 11b is reserved: treated as one-shot
}

unsigned LocalApic::divide() const {
  // Figure 11-10: bits 3,1:0; 111b = divide by 1, else 2^(value+1).
  const unsigned v = ((dcr_ >> 1) & 4) | (dcr_ & 3);
  return v == 7 ? 1 : 2u << v;
}

uint64_t LocalApic::timer_due() const {
  return ctx_.events->armed(timer_ev_) ? ctx_.events->due(timer_ev_) : EventQueue::kNever;
}

uint32_t LocalApic::current_count() const {
  if (!counting_ || timer_mode() == kTscDeadline) return 0;
  const uint64_t elapsed = (ctx_.ticks_at(ctx_.now(), crystal_hz_) - tick0_) / divide();
  if (elapsed < count_) return uint32_t(count_ - elapsed);
  if (timer_mode() != kPeriodic || !initial_count_) return 0;
  // Expired, periodic, and the reload event has not run yet (it runs at the next
  // block boundary): the count as the reload left it.
  return uint32_t(initial_count_ - (elapsed - count_) % initial_count_);
}

void LocalApic::start_count(uint32_t count) {
  counting_ = count != 0 && hw_enabled();  // 11.5.4: a count of 0 stops the timer
  tick0_ = ctx_.ticks_at(ctx_.now(), crystal_hz_);
  count_ = count;
  arm_timer();
}

void LocalApic::arm_timer() {
  if (!counting_) {
    ctx_.events->cancel(timer_ev_);
    return;
  }
  const uint64_t end = tick0_ + uint64_t(count_) * divide();
  ctx_.events->schedule(timer_ev_, ctx_.cycle_of_tick(end, crystal_hz_));
}

void LocalApic::arm_deadline() {
  if (timer_mode() != kTscDeadline || !deadline_) {
    ctx_.events->cancel(timer_ev_);
    return;
  }
  // The TSC advances one per cycle: the deadline is (deadline - TSC) cycles away, or
  // due now if it has passed.
  const uint64_t now = ctx_.now(), tsc = tsc_of_(now);
  ctx_.events->schedule(timer_ev_, deadline_ > tsc ? now + (deadline_ - tsc) : now);
}

void LocalApic::tsc_changed() {
  if (timer_mode() == kTscDeadline && deadline_) arm_deadline();
}

void LocalApic::timer_event(uint64_t due) {
  if (timer_mode() == kTscDeadline) {
    if (!deadline_) return;
    if (tsc_of_(due) < deadline_) {  // the TSC was moved back since arming
      ctx_.events->schedule(timer_ev_, due + (deadline_ - tsc_of_(due)));
      return;
    }
    deadline_ = 0;  // 11.5.4.1: the MSR reads 0 once the timer has fired
  } else {
    if (!counting_) return;
    if (timer_mode() == kPeriodic && initial_count_) {
      // Reload from the exact expiry tick: no drift however late the event ran.
      tick0_ += uint64_t(count_) * divide();
      count_ = initial_count_;
      arm_timer();
    } else {
      counting_ = false;
    }
  }
  timer_fired_++;
  trace("irq", "timer expired");
  deliver_lvt(kTimer);
}

}  // namespace sim
