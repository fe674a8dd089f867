// Debug registers and breakpoints (SDM Vol. 3A chapter 17): MOV to/from DRn,
// breakpoint matching for the run loop and the memory/I-O slow paths, and #DB
// delivery with its DR6 status. Single-step and the breakpoint traps are sequenced
// by the run loop (sim/machine.cpp), which goes instruction by instruction while
// DR7 enables anything (breakpoints_enabled) or TF is set.
#include "isa/bind.h"
#include "isa/system.h"

namespace isa {
namespace {

constexpr uint64_t kCr4De = 1u << 3;
constexpr uint64_t kDr7Gd = 1u << 13;
constexpr uint64_t kDr6Fixed1 = 0xFFFF0FF0;  // reserved-1 bits (no RTM, no bus lock)

bool enabled(const Cpu& c, unsigned i) { return (c.dr[7] >> (i * 2)) & 3; }
unsigned rw(const Cpu& c, unsigned i) { return (c.dr[7] >> (16 + i * 4)) & 3; }
// LEN encoding: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8 (17.2.5).
uint64_t len(const Cpu& c, unsigned i) {
  static constexpr uint64_t kLen[4] = {1, 2, 8, 4};
  return kLen[(c.dr[7] >> (18 + i * 4)) & 3];
}
bool overlaps(const Cpu& c, unsigned i, uint64_t a, uint64_t size) {
  uint64_t n = len(c, i), b = c.dr[i] & ~(n - 1);
  return a < b + n && b < a + size;
}

// DR4/DR5 alias DR6/DR7 when CR4.DE = 0 and are #UD when it is 1 (17.2.2). In VMX
// non-root operation "MOV-DR exiting" comes after the #UD and privilege checks and
// before the general-detect #DB (SDM Vol. 3C 25.1.1, 25.1.3). Returns -1 when the
// instruction exited.
int check_dr_access(Cpu& c, const DecodedInst& d, unsigned n) {
  if (n > 7) raise_ud();
  if (c.cpl != 0) raise_gp0();
  if ((n == 4 || n == 5) && (c.cr4 & kCr4De)) raise_ud();
  if (intercepted(c, d, Intercept::kMovDr)) return -1;
  if (n == 4 || n == 5) n += 2;
  // General detect: any MOV DR faults with DR6.BD while DR7.GD is set (17.2.4).
  if (c.dr[7] & kDr7Gd) {
    c.dr[6] |= DR6_BD;
    raise_fault(VEC_DB);
  }
  return int(n);
}

// MOV r, DRn: the register is 64 bits wide in 64-bit mode and 32 bits otherwise.
template <class T, bool M>
void mov_rd_dd(Cpu& c, const DecodedInst& d) {
  const int n = check_dr_access(c, d, d.reg);
  if (n < 0) return;
  c.set_reg<T>(d.rm, T(c.dr[n]));
}

template <class T, bool M>
void mov_dd_rd(Cpu& c, const DecodedInst& d) {
  const int n = check_dr_access(c, d, d.reg);
  if (n < 0) return;
  uint64_t v = c.reg<T>(d.rm);
  if (n >= 6) {
    if (v >> 32) raise_gp0();  // upper half of DR6/DR7 is reserved (must be zero)
    if (n == 6) v = (v & 0xE00F) | kDr6Fixed1;
    else v = (v & 0xFFFF23FF) | 0x400;
  }
  c.dr[n] = v;
  if (n == 7) c.update_mode();  // data breakpoints make data accesses take the slow path
  c.attention = true;           // the run loop re-evaluates breakpoints
}

}  // namespace

void match_data_breakpoints(Cpu& c, uint64_t lin, unsigned size, bool write) {
  for (unsigned i = 0; i < 4; i++) {
    unsigned k = rw(c, i);
    if (enabled(c, i) && (k == 3 || (k == 1 && write)) && overlaps(c, i, lin, size)) {
      c.ev.pending_dbg |= 1u << i;
      c.attention = true;
    }
  }
}

void match_io_breakpoints(Cpu& c, uint16_t port, unsigned size) {
  if (!(c.cr4 & kCr4De)) return;  // R/W = 10 means I/O only with CR4.DE = 1
  for (unsigned i = 0; i < 4; i++) {
    if (enabled(c, i) && rw(c, i) == 2 && overlaps(c, i, port, size)) {
      c.ev.pending_dbg |= 1u << i;
      c.attention = true;
    }
  }
}

uint64_t match_instruction_breakpoints(const Cpu& c, uint64_t lin) {
  uint64_t hits = 0;
  for (unsigned i = 0; i < 4; i++)
    if (enabled(c, i) && rw(c, i) == 0 && c.dr[i] == lin) hits |= 1u << i;
  return hits;
}

void deliver_debug(Cpu& c, uint64_t bits) {
  // B0-B3 report this exception's conditions; BD/BS/BT accumulate (17.2.3). DR6 is
  // written when the #DB is delivered (deliver_event), not when it causes a VM exit.
  Event e{VEC_DB, EventType::kHardwareException};
  e.payload = (bits & (DR6_B0_B3 | DR6_BD | DR6_BS | DR6_BT)) | DR6_PAYLOAD_VALID;
  deliver_event(c, e);
}

void register_sys_debug(HandlerTable& t) {
  t.set(Form::mov_rd_dd, 1, &mov_rd_dd<uint32_t, false>, &mov_rd_dd<uint32_t, false>);
  t.set(Form::mov_dd_rd, 1, &mov_dd_rd<uint32_t, false>, &mov_dd_rd<uint32_t, false>);
  t.set(Form::mov_rd_dd, 2, &mov_rd_dd<uint32_t, false>, &mov_rd_dd<uint32_t, false>);
  t.set(Form::mov_rd_dd, 3, &mov_rd_dd<uint64_t, false>, &mov_rd_dd<uint64_t, false>);
  t.set(Form::mov_dd_rd, 2, &mov_dd_rd<uint32_t, false>, &mov_dd_rd<uint32_t, false>);
  t.set(Form::mov_dd_rd, 3, &mov_dd_rd<uint64_t, false>, &mov_dd_rd<uint64_t, false>);
}

}  // namespace isa
