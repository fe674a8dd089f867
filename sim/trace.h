// Instruction and event trace (`nestsim run --trace FILE`).
//
// The file is plain text, one record per line, in execution order:
//
//   instruction  ICOUNT MODE CS:RIP LINEAR  BYTES  DISASSEMBLY [| REGISTERS]
//     e.g.  "1234 long 0008:0000000000101a3c 0000000000101a3c  48 89 e5  mov rbp, rsp"
//   event        ICOUNT MODE ! KIND DETAIL
//     e.g.  "1240 long ! exception #PF error=0x2 cr2=0x7000 rip=0x101a40"
//
// ICOUNT is the number of instructions retired before this one (so the first
// instruction of a run is 0; an event carries the count at which it happened). MODE is
// one of real, v8086, prot16, prot32, compat, long. Disassembly is Capstone's (Intel
// syntax) in the mode of the code segment. With register tracing, REGISTERS lists the
// general registers and RFLAGS after the instruction: the changed ones, or all.
//
// Filters select instruction records: linear PC range, modes, the first ICOUNT traced
// and how many instruction records at most. Events are written while the window
// [start, start + count records) is open, whatever the PC and mode filters say.
//
// The traced loop (Machine::run_traced, trace.cpp) runs untraced at full speed before
// `start` and after `count` records; in between it steps with Machine::step_one and
// reports each step here. Later components log their own events with Tracer::event():
// a kind and free text. Devices do so through DeviceContext::trace while the window
// is open (Machine::set_tracer): "dev" lines for every register access
// ("1234 long ! dev uart0.thr w 0x41 (port 0x3f8, 1 byte)") and "irq" lines for ISA
// interrupt lines ("! irq isa irq 4 high"); set_kind() leaves them out.
//
// Timing: the window is executed by Machine::step_one, which translates the fetch
// address of every instruction, while the block loop translates only when it looks a
// block up. Instruction counts and architectural results are identical; on code that
// misses the modelled TLB often, simulated cycles inside the window can differ from
// an untraced run (paging_perm.elf: 821,882 traced vs 852,995 cycles).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "isa/cpu.h"

namespace sim {

enum class TraceMode : uint8_t { kReal, kV8086, kProt16, kProt32, kCompat, kLong, kCount };
const char* trace_mode_name(TraceMode m);
// Parses a mode name as trace_mode_name() spells it; false if unknown.
bool parse_trace_mode(std::string_view s, TraceMode& m);
// The mode the CPU executes in now (SDM Vol. 3A 2.2: CR0.PE, RFLAGS.VM, IA32_EFER.LMA,
// CS.L and CS.D).
TraceMode trace_mode_of(const isa::Cpu& c);

struct TraceFilter {
  uint64_t lo = 0, hi = ~0ull;   // linear PC range, inclusive
  unsigned modes = (1u << unsigned(TraceMode::kCount)) - 1;  // bit per TraceMode
  uint64_t start = 0;            // first ICOUNT traced
  uint64_t count = ~0ull;        // instruction records at most
};

enum class TraceRegs : uint8_t { kNone, kChanged, kAll };

class Tracer {
 public:
  // `out` stays owned by the caller.
  Tracer(std::FILE* out, const TraceFilter& filter, TraceRegs regs);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  const TraceFilter& filter() const { return filter_; }
  // The window has closed: no more records of any kind.
  bool done() const { return records_ >= filter_.count; }
  // Whether instruction `icount` at linear `pc` in mode `m` gets a record.
  bool wants(uint64_t icount, uint64_t pc, TraceMode m) const {
    return icount >= filter_.start && !done() && pc >= filter_.lo && pc <= filter_.hi &&
           (filter_.modes >> unsigned(m) & 1);
  }
  TraceRegs regs() const { return regs_; }
  // Event kinds from devices ("dev": register accesses, "irq": interrupt lines and
  // controller decisions) can be left out: set_kind("dev", false).
  void set_kind(std::string_view kind, bool on) {
    if (kind == "dev") dev_ = on;
    else if (kind == "irq") irq_ = on;
  }
  bool wants_kind(std::string_view kind) const {
    return kind == "dev" ? dev_ : kind == "irq" ? irq_ : true;
  }

  // The state an instruction record compares against (registers before it).
  struct Before {
    uint64_t icount, rip, pc;
    uint16_t cs;
    TraceMode mode;
    isa::CodeSize code_size;
    uint64_t gpr[16];
    uint64_t rflags;
  };
  static Before capture(const isa::Cpu& c, uint64_t pc);

  // One retired instruction: `bytes` (len of them) as fetched; `after` is the state
  // after it.
  void instruction(const Before& b, const uint8_t* bytes, unsigned len, const isa::Cpu& after);
  // An event at `icount` in `mode`: kind is one word ("exception", "interrupt",
  // "nmi", "mode", "stop", ...), detail free text on the same line.
  void event(uint64_t icount, TraceMode mode, std::string_view kind, std::string_view detail);
  void flush() { std::fflush(out_); }

  uint64_t records() const { return records_; }

 private:
  std::FILE* out_;
  TraceFilter filter_;
  TraceRegs regs_;
  bool dev_ = true, irq_ = true;
  uint64_t records_ = 0;
  size_t cs_handle_[3] = {};  // Capstone handles for 16/32/64-bit code (0 = unavailable)
};

}  // namespace sim
