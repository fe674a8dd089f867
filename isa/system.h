// The system architecture of the core (SDM Vol. 3A chapters 2-7, 17): segmentation
// with descriptor and privilege checks, task state, event delivery through the IDT,
// control registers, MSRs and debug registers. These are the functions the system
// instruction handlers and the machine's run loop share; each lives in the isa/sys_*
// file named beside it. Everything here is plain ISA meaning: memory goes through
// Cpu (implicit supervisor accesses through Cpu::sys_read/sys_write), translation
// changes are announced to the Bus (Bus::paging_event), nothing touches devices.
//
// Privilege and mode (invariant kept by Cpu::update_mode, isa/cpu.cpp):
//   CPL = 0 in real mode, 3 in virtual-8086 mode, else SS.DPL (SDM Vol. 3A 5.5; the
//   VMCS keeps CPL the same way). Code that loads CS and SS (far transfers, event
//   delivery, SYSCALL...) writes the segment caches and then calls update_mode().
//
// Derived-state rule: after changing CR0, CR4, EFER, RFLAGS (VM, AC), DR7 or the
// CS/SS caches, call Cpu::update_mode(): it recomputes the mode, the CPL and
// Cpu::slow_data, and announces CPL/AC changes to the Bus.
#pragma once
#include <cstdint>

#include "isa/cpu.h"

namespace isa {

struct HandlerTable;

// ---- descriptors (isa/sys_seg.cpp) ----------------------------------------------

// One 8-byte segment or gate descriptor as it sits in the GDT/LDT/IDT (SDM Vol. 3A
// 3.4.5, 5.8.3, 6.11). 64-bit system descriptors (TSS/LDT, call/interrupt/trap gates
// in IA-32e mode) are 16 bytes: `hi2` holds bits 95:64.
struct Descriptor {
  uint32_t lo = 0, hi = 0, hi2 = 0;

  unsigned type() const { return (hi >> 8) & 0xF; }
  bool s() const { return hi & (1u << 12); }  // 1 = code/data, 0 = system
  unsigned dpl() const { return (hi >> 13) & 3; }
  bool present() const { return hi & (1u << 15); }
  bool l() const { return hi & (1u << 21); }
  bool db() const { return hi & (1u << 22); }
  bool g() const { return hi & (1u << 23); }
  bool code() const { return s() && (type() & 8); }
  bool data() const { return s() && !(type() & 8); }
  uint32_t base32() const { return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u); }
  uint64_t base64() const { return base32() | (uint64_t(hi2) << 32); }
  // Byte-granular limit (G applied).
  uint32_t limit() const {
    uint32_t l = (lo & 0xFFFF) | (hi & 0xF0000);
    return g() ? (l << 12) | 0xFFF : l;
  }
  // Attributes in the VMCS access-rights layout SegmentReg::attr uses.
  uint16_t attr() const { return uint16_t((hi >> 8) & 0xF0FF); }
  // Gates: target selector, offset, parameter count, IST.
  uint16_t gate_selector() const { return uint16_t(lo >> 16); }
  uint64_t gate_offset() const {
    return (lo & 0xFFFF) | (hi & 0xFFFF0000u) | (uint64_t(hi2) << 32);
  }
  unsigned gate_params() const { return hi & 0x1F; }
  unsigned gate_ist() const { return hi & 7; }
};

// Reads the descriptor `sel` selects from the GDT or LDT (TI bit) with implicit
// supervisor accesses; a selector beyond the table limit (or an LDT selector with a
// null/unusable LDTR) raises `vector` with error code (sel & ~3) (SDM Vol. 3A 6.13).
// Reads 16 bytes when `wide` (64-bit system descriptors).
Descriptor read_descriptor(Cpu& c, uint16_t sel, uint8_t vector, bool wide = false);
// Sets the accessed bit of the descriptor in memory if clear (SDM Vol. 3A 3.4.5.1).
void set_descriptor_accessed(Cpu& c, uint16_t sel, Descriptor& d);
// Fills a segment cache from a descriptor (base, byte limit, attributes).
void load_cache(SegmentReg& r, uint16_t sel, const Descriptor& d);

// MOV Sreg / POP Sreg / LDS..LGS semantics for ES, SS, DS, FS, GS in the current
// mode, with every check of SDM Vol. 2B MOV "Operation" (#GP/#SS/#NP(selector)).
// SS loads also set the MOV-SS interrupt shadow (callers that need it do so).
void load_data_segment(Cpu& c, unsigned seg, uint16_t sel);
// Far JMP / far CALL / far RET to `sel:off` with all protected-mode forms (code
// segments, conforming/non-conforming, call gates with stack switch and parameter
// copy, task gates and TSS selectors -> task_switch), real and virtual-8086 mode.
// `osize` is the instruction's operand size in bytes. These are complete
// instruction bodies: they read the stack and commit CS:RIP, SS:RSP and CPL.
void far_jmp(Cpu& c, uint16_t sel, uint64_t off, unsigned osize);
void far_call(Cpu& c, uint16_t sel, uint64_t off, unsigned osize);
void far_ret(Cpu& c, unsigned osize, uint16_t pop_bytes);

// ---- task state (isa/sys_task.cpp) -----------------------------------------------

// Stack for a privilege change to `new_cpl` (< CPL) from the current TSS: legacy
// 16/32-bit TSS (SDM Vol. 3A 7.2.1) with #TS checks; returns SS selector and SP.
void tss_legacy_stack(Cpu& c, unsigned new_cpl, uint16_t& ss, uint32_t& sp);
// 64-bit TSS (SDM Vol. 3A 7.7): RSPn for `new_cpl`, or ISTn when `ist` != 0.
uint64_t tss64_stack(Cpu& c, unsigned new_cpl, unsigned ist);

enum class TaskSwitchSource : uint8_t { kCall, kJmp, kIret, kGate };
// Hardware task switch to the TSS `sel` names (SDM Vol. 3A 7.3), from a far
// CALL/JMP, IRET with NT=1, or a task gate in the IDT (then `error` is pushed on
// the new task's stack when `has_error`).
void task_switch(Cpu& c, uint16_t sel, const Descriptor& tss, TaskSwitchSource src,
                 bool has_error = false, uint32_t error = 0);

// ---- events (isa/sys_int.cpp) -----------------------------------------------------

// The kinds the SDM (and the VMCS interruption-information field) distinguish.
enum class EventType : uint8_t {
  kExternal = 0,      // INTR from the interrupt controller
  kNmi = 2,
  kHardwareException = 3,  // faults and traps the CPU detects
  kSoftwareInterrupt = 4,  // INT n
  kPrivSoftwareException = 5,  // INT1 (ICEBP)
  kSoftwareException = 6,  // INT3, INTO
};

struct Event {
  uint8_t vector = 0;
  EventType type = EventType::kHardwareException;
  bool has_error = false;
  uint32_t error = 0;
  // Software interrupts and exceptions: the length of the instruction (VMX exits
  // report it and save RIP of the instruction, SDM Vol. 3C 27.2.4).
  uint8_t insn_len = 0;
  // What the exception writes when it is delivered (and does not write when it causes
  // a VM exit instead, 27.1): #PF the faulting linear address into CR2, #DB its DR6
  // bits (B0-B3, BD, BS, BT).
  uint64_t payload = 0;
};

// Delivers one event through the IDT in the current mode (real-mode IVT, protected-
// mode interrupt/trap/task gates, IA-32e 16-byte gates with IST), SDM Vol. 3A 6.12,
// 6.14, 20.1.4. RIP must already be the return address (the faulting instruction
// for faults, the next one for traps and INT n). Faults raised while delivering are
// combined per SDM Vol. 3A Table 6-5 (contributory/benign/page-fault classes) into
// #DF, and a fault while delivering #DF shuts the processor down (Bus::shutdown).
// In VMX non-root operation each event (and each exception raised while delivering
// one) is first offered to Bus::event_exit (exception bitmap, NMI exiting); a VM exit
// raised inside the delivery (an EPT violation on the IDT or stack) records the event
// as IDT-vectoring information (Bus::exit_during_delivery) and propagates. An event
// injected by VM entry (`injected`) is not subject to the exception bitmap, the
// exceptions its delivery raises are.
void deliver_event(Cpu& c, const Event& e, bool injected = false);
// Convenience for the run loop: a CpuFault caught from an instruction (RIP restored).
void deliver_fault(Cpu& c, const CpuFault& f);

// ---- control registers, MSRs, debug (isa/sys_cr.cpp, isa/msr.cpp, isa/sys_debug.cpp)

// MOV to CR0/CR3/CR4/CR8 and XSETBV-like checks, with the #GP rules of SDM Vol. 3A
// 2.5 and Vol. 2B MOV CR; announces translation changes via Bus::paging_event and
// recomputes the mode. Used by MOV CR, LMSW, CLTS and (later) VM entry/exit.
void write_cr0(Cpu& c, uint64_t v);
void write_cr3(Cpu& c, uint64_t v);
void write_cr4(Cpu& c, uint64_t v);
void write_efer(Cpu& c, uint64_t v);
// RDMSR/WRMSR semantics: the MSR table (isa/msr.def) then the Bus for platform
// MSRs; unknown MSRs and bad values raise #GP(0) (and are counted).
uint64_t read_msr(Cpu& c, uint32_t index);
void write_msr(Cpu& c, uint32_t index, uint64_t value);
// TSC as software sees it: simulated cycles plus IA32_TSC_ADJUST-style offset.
uint64_t read_tsc_value(const Cpu& c);

// ---- debug (isa/sys_debug.cpp) ------------------------------------------------------

// Data and I/O breakpoint matching (SDM Vol. 3A 17.2.4-17.2.5): records hits in
// c.ev.pending_dbg (B0-B3) and sets c.attention, so the trap is delivered after the
// instruction completes. The memory slow paths call the first whenever
// c.slow_data is set and DR7 enables a data breakpoint.
void match_data_breakpoints(Cpu& c, uint64_t lin, unsigned size, bool write);
void match_io_breakpoints(Cpu& c, uint16_t port, unsigned size);
// DR6 bits (SDM Vol. 3A 17.2.3) as they are recorded in EventState::pending_dbg.
enum : uint64_t { DR6_B0_B3 = 0xF, DR6_BD = 1u << 13, DR6_BS = 1u << 14, DR6_BT = 1u << 15 };
// Event::payload of a #DB carries DR6 bits when this marker is set (deliver_debug).
constexpr uint64_t DR6_PAYLOAD_VALID = 1ull << 63;
// True when DR7 enables any breakpoint: the run loop then goes instruction by
// instruction, so that breakpoints and their traps are exact.
inline bool breakpoints_enabled(const Cpu& c) { return c.dr[7] & 0xFF; }
// B0-B3 of the enabled instruction breakpoints at linear address `lin` (17.2.4).
uint64_t match_instruction_breakpoints(const Cpu& c, uint64_t lin);
// Delivers #DB with `dr6_bits` merged into DR6 (B0-B3 replaced, BD/BS/BT added).
// Used for the traps in pending_dbg (RIP = next instruction) and for instruction
// breakpoints (a fault: RIP = the instruction).
void deliver_debug(Cpu& c, uint64_t dr6_bits);

// ---- registration (called once by handler_table()) ---------------------------------
void register_sys_seg(HandlerTable& t);    // sys_seg.cpp: MOV/POP/LxS Sreg, far transfers, LAR...
void register_sys_task(HandlerTable& t);   // sys_task.cpp: LTR/STR, task switches
void register_sys_dtr(HandlerTable& t);    // sys_dtr.cpp: LGDT/LIDT/LLDT/SGDT/SIDT/SLDT/SMSW/LMSW
void register_sys_int(HandlerTable& t);    // sys_int.cpp: INT n/INT3/INTO/INT1, IRET, CLI/STI
void register_sys_fast(HandlerTable& t);   // sys_fast.cpp: SYSCALL/SYSRET/SYSENTER/SYSEXIT/SWAPGS
void register_sys_debug(HandlerTable& t);  // sys_debug.cpp: MOV DR
void register_sys_cr(HandlerTable& t);     // sys_cr.cpp: MOV CR, CLTS, INVLPG, INVPCID
void register_sys_msr(HandlerTable& t);    // msr.cpp: RDMSR/WRMSR, RDTSC(P), RDPID, RD/WR*BASE
void register_sys_misc(HandlerTable& t);   // sys_misc.cpp: WBINVD/INVD, MONITOR/MWAIT, CLAC/STAC, PKU...

}  // namespace isa
