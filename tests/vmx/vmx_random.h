// Random VMX programs: a 64-bit host that enters VMX operation, builds a VMCS from a
// valid baseline with input-chosen mutations, runs random VMX instructions with random
// operands before VMLAUNCH and in its exit handler, and resumes a guest that runs random
// code, a bounded number of times. Shared by the fuzz_vmx libFuzzer target and the
// deterministic `vmx.random VMX programs ...` test (tests/vmx/vmx_random_test.cpp).
//
// The oracle is the simulator's own: every run must end in an architectural stop
// (limit, halt, shutdown, exit device, fault), never an error, a crash or a sanitizer
// report; guest RAM sits between guard pages (mmu/phys_mem.cpp), so a host access
// outside it crashes.
//
// Input: one byte stream read front to back by Input (zeros when it runs out), in this
// order: options, controls, guest mode and registers, EPT and its mutations, the other
// VMX structures (bitmaps, MSR lists, virtual-APIC page, shadow VMCS), VMCS field
// mutations, host operations before VMLAUNCH, host operations of the exit handler,
// guest code. Nothing here depends on anything but the input.
//
// Physical layout (2 MiB of RAM; everything not listed is HLT, 0xF4):
//   0x00000 guest real-mode IVT        0x01000 host page tables (sim/loader.h)
//   0x10000 host code (generated)      0x20000 host data: operands of host operations
//   0x30000 host stack top             0x40000 VMXON region
//   0x41000 VMCS A (launched)          0x42000 VMCS B        0x43000 shadow VMCS
//   0x44000 I/O bitmap A  0x45000 B    0x46000 MSR bitmap    0x47000 VMREAD bitmap
//   0x48000 VMWRITE bitmap             0x49000 VM-entry MSR-load list
//   0x4A000 VM-exit MSR-store list     0x4B000 VM-exit MSR-load list
//   0x4C000 virtual-APIC page          0x4D000 APIC-access page
//   0x4E000 posted-interrupt descriptor  0x4F000 EPTP list
//   0x50000 host GDT  0x51000 host IDT  0x52000 host TSS  0x53000 host handler (HLT)
//   0x54000 PML buffer                 0x55000-0x5F000 more VMCS regions (cache eviction)
//   0x60000 EPT PML5  0x61000 PML4  0x62000 PDPT  0x63000 PD  0x64000 PT (GPA 0-2 MiB)
//   0x70000 guest PML4 0x71000 PDPT 0x72000 PD 0x73000 PT (identity, 4 KiB pages)
//   0x74000 guest GDT  0x75000 guest IDT (64-bit)  0x76000 guest handler (VMCALL; HLT)
//   0x77000 guest TSS  0x78000 guest IDT (32-bit)  0x79000 guest 32-bit PD (4 MiB page)
//   0x80000 guest code (up to 32 KiB)  0x90000 guest data, stack top 0xA0000
// EPT (when on) maps guest-physical 0-2 MiB to the same host-physical addresses, so the
// guest sees the same layout; the guest may overwrite any of it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sim/machine.h"
#include "vmx/controls.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"

namespace vmxrand {

using vmx::Field;

constexpr uint64_t kRam = 2ull << 20;
constexpr uint64_t kHostCode = 0x10000, kHostCodeEnd = 0x20000, kHostData = 0x20000,
                   kHostDataEnd = 0x2F000, kHostStack = 0x30000;
constexpr uint64_t kVmxon = 0x40000, kVmcsA = 0x41000, kVmcsB = 0x42000, kShadow = 0x43000;
constexpr uint64_t kIoA = 0x44000, kIoB = 0x45000, kMsrBitmap = 0x46000, kVmreadBitmap = 0x47000,
                   kVmwriteBitmap = 0x48000, kEntryMsrLoad = 0x49000, kExitMsrStore = 0x4A000,
                   kExitMsrLoad = 0x4B000, kVirtApic = 0x4C000, kApicAccess = 0x4D000,
                   kPostedDesc = 0x4E000, kEptpList = 0x4F000;
constexpr uint64_t kHostGdt = 0x50000, kHostIdt = 0x51000, kHostTss = 0x52000,
                   kHostHandler = 0x53000, kPml = 0x54000, kVmcsMore = 0x55000;
constexpr unsigned kVmcsMoreCount = 11;  // more than the processor's VMCS cache holds
constexpr uint64_t kEptPml5 = 0x60000, kEptPml4 = 0x61000, kEptPdpt = 0x62000, kEptPd = 0x63000,
                   kEptPt = 0x64000;
constexpr uint64_t kGPml4 = 0x70000, kGPdpt = 0x71000, kGPd = 0x72000, kGPt = 0x73000,
                   kGGdt = 0x74000, kGIdt64 = 0x75000, kGHandler = 0x76000, kGTss = 0x77000,
                   kGIdt32 = 0x78000, kGPd32 = 0x79000;
constexpr uint64_t kGCode = 0x80000, kGCodeMax = 0x8000, kGData = 0x90000, kGStack = 0xA0000;

// The input as a stream; reads past the end give zeros (so every input is complete).
class Input {
 public:
  Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint8_t u8() { return i_ < n_ ? p_[i_++] : 0; }
  uint16_t u16() { return uint16_t(u8() | u8() << 8); }
  uint32_t u32() { return uint32_t(u16()) | uint32_t(u16()) << 16; }
  uint64_t u64() { return uint64_t(u32()) | uint64_t(u32()) << 32; }
  bool bit() { return u8() & 1; }
  // True with probability in256/256; false when the input has run out (zeros), so a
  // short input gets the baseline, not the rare cases.
  bool chance(unsigned in256) { return u8() >= 256 - in256; }
  size_t left() const { return n_ - i_; }
  const uint8_t* rest() const { return p_ + i_; }
  void skip(size_t k) { i_ += k < left() ? k : left(); }

 private:
  const uint8_t* p_;
  size_t n_, i_ = 0;
};

// A value for a 64-bit quantity: kept, random, a flipped bit, or a boundary value.
inline uint64_t mutate_value(Input& in, uint64_t base) {
  switch (in.u8() % 8) {
    case 0: return in.u64();
    case 1: return base ^ (1ull << (in.u8() % 64));
    case 2: return base ^ (1ull << (in.u8() % 64)) ^ (1ull << (in.u8() % 64));
    case 3: return 0;
    case 4: return ~0ull;
    case 5: return base + int8_t(in.u8());
    case 6: return uint64_t(in.u8()) << (in.u8() % 64);
    default: return in.u32();
  }
}

// Machine code for the host, emitted into a buffer (64-bit mode; registers 0-7 only
// unless said; absolute memory operands as [disp32] through a SIB byte).
class Asm {
 public:
  explicit Asm(uint64_t org) : org_(org) {}
  uint64_t here() const { return org_ + b_.size(); }
  const std::vector<uint8_t>& bytes() const { return b_; }
  void raw(std::initializer_list<uint8_t> v) { b_.insert(b_.end(), v); }
  void imm32(uint32_t v) { for (int i = 0; i < 4; i++) b_.push_back(uint8_t(v >> (8 * i))); }
  void imm64(uint64_t v) { imm32(uint32_t(v)); imm32(uint32_t(v >> 32)); }
  // mov r64, imm64 (r < 8)
  void mov_imm(unsigned r, uint64_t v) { raw({0x48, uint8_t(0xB8 + r)}); imm64(v); }
  // <prefix> 0F <op...> modrm(mod 00, reg, rm 100) SIB 0x25 disp32: [abs]
  void mem_op(std::initializer_list<uint8_t> op, unsigned reg, uint32_t abs) {
    raw(op);
    raw({uint8_t((reg & 7) << 3 | 4), 0x25});
    imm32(abs);
  }
  void vmread_rr(unsigned dst, unsigned enc) { raw({0x0F, 0x78, uint8_t(0xC0 | enc << 3 | dst)}); }
  void vmwrite_rr(unsigned enc, unsigned src) { raw({0x0F, 0x79, uint8_t(0xC0 | enc << 3 | src)}); }
  void vmread_m(uint32_t abs, unsigned enc) { mem_op({0x0F, 0x78}, enc, abs); }
  void vmwrite_m(unsigned enc, uint32_t abs) { mem_op({0x0F, 0x79}, enc, abs); }
  void vmptrld(uint32_t abs) { mem_op({0x0F, 0xC7}, 6, abs); }
  void vmptrst(uint32_t abs) { mem_op({0x0F, 0xC7}, 7, abs); }
  void vmclear(uint32_t abs) { mem_op({0x66, 0x0F, 0xC7}, 6, abs); }
  void vmxon(uint32_t abs) { mem_op({0xF3, 0x0F, 0xC7}, 6, abs); }
  void invept(unsigned type_reg, uint32_t abs) { mem_op({0x66, 0x0F, 0x38, 0x80}, type_reg, abs); }
  void invvpid(unsigned type_reg, uint32_t abs) { mem_op({0x66, 0x0F, 0x38, 0x81}, type_reg, abs); }
  void vmlaunch() { raw({0x0F, 0x01, 0xC2}); }
  void vmresume() { raw({0x0F, 0x01, 0xC3}); }
  void vmxoff() { raw({0x0F, 0x01, 0xC4}); }
  void vmcall() { raw({0x0F, 0x01, 0xC1}); }
  void vmfunc() { raw({0x0F, 0x01, 0xD4}); }
  void store_rax(uint32_t abs) { mem_op({0x48, 0x89}, 0, abs); }  // mov [abs], rax
  void mov_eax(uint32_t v) { raw({0xB8}); imm32(v); }
  void mov_ecx(uint32_t v) { raw({0xB9}); imm32(v); }
  void mov_edx(uint32_t v) { raw({0xBA}); imm32(v); }
  void exit_device(uint8_t v) { raw({0xB0, v, 0xE6, 0xF4, 0xF4}); }  // mov al, v; out 0xF4, al; hlt

 private:
  uint64_t org_;
  std::vector<uint8_t> b_;
};

// One generated program: everything the run needs besides the machine.
struct Stats {
  bool launched = false;  // at least one VM entry succeeded
  uint64_t entries = 0, exits = 0;
  size_t guest_code_at = 0;  // input offset where the guest code began (for seed files)
};

namespace detail {

inline uint8_t* ram(sim::Machine& m) { return m.mem().ram(); }
inline void put64(sim::Machine& m, uint64_t pa, uint64_t v) { std::memcpy(ram(m) + pa, &v, 8); }
inline void put32(sim::Machine& m, uint64_t pa, uint32_t v) { std::memcpy(ram(m) + pa, &v, 4); }
inline void put16(sim::Machine& m, uint64_t pa, uint16_t v) { std::memcpy(ram(m) + pa, &v, 2); }

inline uint64_t desc(uint32_t base, uint32_t limit, uint16_t attr) {
  uint32_t raw_limit = (attr & 0x8000) ? limit >> 12 : limit;
  return (raw_limit & 0xFFFFull) | (uint64_t(base & 0xFFFFFF) << 16) |
         (uint64_t(attr & 0xFF) << 40) | (uint64_t((raw_limit >> 16) & 0xF) << 48) |
         (uint64_t((attr >> 12) & 0xF) << 52) | (uint64_t(base >> 24) << 56);
}

// GDT: 0x08 64-bit code, 0x10 data, 0x18 TSS (16 bytes, busy), 0x28 32-bit code.
inline void write_gdt(sim::Machine& m, uint64_t gdt, uint64_t tss) {
  put64(m, gdt + 0x08, desc(0, 0xFFFFFFFF, 0xA09B));
  put64(m, gdt + 0x10, desc(0, 0xFFFFFFFF, 0xC093));
  put64(m, gdt + 0x18, desc(uint32_t(tss), 0x67, 0x008B));
  put64(m, gdt + 0x20, 0);
  put64(m, gdt + 0x28, desc(0, 0xFFFFFFFF, 0xC09B));
  put64(m, tss + 4, kHostStack - 0x800);  // RSP0
}

inline void write_idt64(sim::Machine& m, uint64_t idt, uint64_t handler) {
  for (unsigned v = 0; v < 256; v++) {
    put64(m, idt + v * 16, (handler & 0xFFFF) | (0x08ull << 16) | (0x8Eull << 40) |
                               (uint64_t((handler >> 16) & 0xFFFF) << 48));
    put64(m, idt + v * 16 + 8, handler >> 32);
  }
}

// The guest modes of the baseline.
enum GuestMode : unsigned { kLong64, kProt32, kReal, kGuestModes };

// Control word: the minimal allowed setting, an allowed setting, or anything.
inline uint32_t control(Input& in, uint32_t must1, uint32_t may1) {
  const uint8_t how = in.u8();
  const uint32_t r = in.u32();
  if (how >= 252) return r;                      // outside the allowed settings (mostly)
  if (how >= 248) return (must1 | (r & may1)) ^ (1u << (in.u8() % 32));  // one bit off
  if (how >= 208) return must1;
  return must1 | (r & may1);
}

struct FieldWrite {
  uint64_t encoding, value;
};

}  // namespace detail

// Builds the program from the input into the machine's RAM and state, runs it, and
// returns how it ended. `max_insns` bounds the run (host and guest together); a repeated
// string is bounded by cycles.
inline sim::RunResult run(sim::Machine& m, const uint8_t* data, size_t size, Stats* stats = nullptr,
                          uint64_t max_insns = 40000) {
  using namespace detail;
  Input in(data, size);
  std::memset(ram(m), 0xF4, m.mem().ram_size());
  m.code().flush();
  m.mem().clear_all_code_pages();
  m.reset_long_mode(kHostCode, kHostStack);
  isa::Cpu& c = m.cpu();
  const vmx::VmxCaps& k = m.vmx().caps();
  auto enc = [](Field f) { return uint64_t(vmx::field_info(f).encoding); };

  // ---- options --------------------------------------------------------------------
  const uint8_t opt = in.u8();
  const bool image = opt & 1;              // baseline written as a region image, not VMWRITEs
  const bool advance_rip = !(opt & 2);     // the handler skips the exiting instruction
  const bool fixup = (opt & 0x0C) != 0x0C || (opt & 0x80);  // dependent controls made consistent (7/8)
  const unsigned mode = ((opt >> 4) & 7) % kGuestModes;
  const unsigned resumes = 1 + in.u8() % 16;

  // ---- host system state ----------------------------------------------------------
  write_gdt(m, kHostGdt, kHostTss);
  write_idt64(m, kHostIdt, kHostHandler);
  c.gdtr = {kHostGdt, 0x2F};
  c.idtr = {kHostIdt, 0xFFF};
  c.tr = {0x18, 0x008B, 0x67, kHostTss};
  c.msr.feature_control = 5;  // locked, VMX outside SMX (23.7)
  c.cr4 |= isa::CR4_VMXE;
  c.update_mode();
  std::memset(ram(m) + kVmxon, 0, 4 * 4096);  // VMXON region, VMCS A, B, shadow
  put32(m, kVmxon, k.revision_id);
  put32(m, kVmcsA, k.revision_id);
  put32(m, kVmcsB, k.revision_id);
  put32(m, kShadow, k.revision_id | vmx::VMCS_SHADOW_INDICATOR);
  std::memset(ram(m) + kVmcsMore, 0, kVmcsMoreCount * 4096);
  for (unsigned i = 0; i < kVmcsMoreCount; i++)
    put32(m, kVmcsMore + i * 4096, k.revision_id | (i % 3 == 2 ? uint32_t(vmx::VMCS_SHADOW_INDICATOR) : 0u));
  // ---- controls -----------------------------------------------------------------------
  uint32_t pin = control(in, k.pin_must1(), k.pin | k.pin_must1());
  uint32_t proc = control(in, k.proc_must1(), k.proc | k.proc_must1());
  uint32_t proc2 = control(in, 0, k.proc2);
  uint32_t exitc = control(in, k.exit_must1(), k.exit | k.exit_must1());
  uint32_t entryc = control(in, k.entry_must1(), k.entry | k.entry_must1());
  if (mode == kReal) proc2 |= vmx::CPU2_UNRESTRICTED_GUEST;
  if (fixup) {
    using namespace vmx;
    if (proc2 & (CPU2_UNRESTRICTED_GUEST | CPU2_PML | CPU2_EPT_VE)) proc2 |= CPU2_EPT;
    if (pin & PIN_POSTED_INTR) proc2 |= CPU2_VIRT_INTR_DELIVERY, exitc |= EXIT_ACK_INTR_ON_EXIT;
    if (proc2 & CPU2_VIRT_INTR_DELIVERY) pin |= PIN_EXTINT_EXITING;
    if (proc2 & CPU2_VIRT_X2APIC_MODE) proc2 &= ~CPU2_VIRT_APIC_ACCESSES;
    if (proc2 & (CPU2_VIRT_X2APIC_MODE | CPU2_APIC_REG_VIRT | CPU2_VIRT_INTR_DELIVERY))
      proc |= CPU_TPR_SHADOW;
    if (proc & CPU_NMI_WINDOW_EXITING) pin |= PIN_VIRTUAL_NMIS;
    if (pin & PIN_VIRTUAL_NMIS) pin |= PIN_NMI_EXITING;
    if (exitc & EXIT_SAVE_PREEMPTION_TIMER) pin |= PIN_PREEMPTION_TIMER;
    if (proc2 & CPU2_VMFUNC) proc2 |= CPU2_EPT;  // EPTP switching (VM-function control 0)
    if (proc2) proc |= CPU_SECONDARY_CONTROLS;
    exitc |= EXIT_HOST_ADDR_SPACE_SIZE;
    if (mode == kLong64) entryc |= ENTRY_IA32E_MODE_GUEST;
    else entryc &= ~ENTRY_IA32E_MODE_GUEST;
    entryc &= ~(ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR);
  }

  // ---- guest system state and code -----------------------------------------------------
  write_gdt(m, kGGdt, kGTss);
  write_idt64(m, kGIdt64, kGHandler);
  for (unsigned v = 0; v < 256; v++) {
    put64(m, kGIdt32 + v * 8, (kGHandler & 0xFFFF) | (0x28ull << 16) | (0x8Eull << 40) |
                                  (uint64_t(kGHandler >> 16) << 48));
    put32(m, v * 4, uint32_t(kGHandler >> 4) << 16);  // real-mode IVT: 7600:0000
  }
  // The guest's exception handler asks the host (VMCALL exits unconditionally), then halts.
  const uint8_t handler[] = {0x0F, 0x01, 0xC1, 0xF4, 0xEB, 0xFA};
  std::memcpy(ram(m) + kGHandler, handler, sizeof handler);
  for (uint64_t pa = 0; pa < kRam; pa += 4096) put64(m, kGPt + (pa >> 12) * 8, pa | 3);
  put64(m, kGPml4, kGPdpt | 3);
  put64(m, kGPdpt, kGPd | 3);
  put64(m, kGPd, kGPt | 3);
  put32(m, kGPd32, 0x83);  // 4 MiB page at 0
  std::memset(ram(m) + kGData, 0, kGStack - kGData);

  // ---- EPT: identity map of 0-2 MiB with 4 KiB pages, WB, RWX; then mutations -----------
  const uint64_t ept_rwx = 7 | (6u << 3);
  for (uint64_t pa = 0; pa < kRam; pa += 4096) put64(m, kEptPt + (pa >> 12) * 8, pa | ept_rwx);
  put64(m, kEptPml5, kEptPml4 | 7);
  put64(m, kEptPml4, kEptPdpt | 7);
  put64(m, kEptPdpt, kEptPd | 7);
  put64(m, kEptPd, kEptPt | 7);
  uint64_t eptp = kEptPml4 | 6 | (3u << 3);
  {
    const uint8_t e = in.u8();
    if (e & 1) eptp = kEptPml5 | 6 | (4u << 3);
    if (e & 2) eptp |= 0x40;  // accessed/dirty flags
    if (in.chance(16)) eptp = mutate_value(in, eptp);
    for (unsigned n = in.u8() % 8; n--;) {
      // Mostly the entries the guest uses: index 0 of the upper tables, the PTEs of the
      // guest's code, stack, data, paging structures, tables and APIC pages.
      static constexpr uint64_t kUsed[] = {kGCode, kGStack - 0x1000, kGData, kGPml4, kGPdpt,
                                           kGPd, kGPt, kGGdt, kGIdt64, kGHandler, kGTss,
                                           kApicAccess, kVirtApic, kGPd32, 0};
      const unsigned level = in.u8() % 5;
      const uint64_t table = kEptPml5 + level * 0x1000;
      const uint16_t pick = in.u16();
      const uint64_t index = pick >= 0x4000 ? pick % 512
                             : level < 4    ? 0
                                            : kUsed[pick % (sizeof kUsed / sizeof kUsed[0])] >> 12;
      const uint64_t slot = table + index * 8;
      uint64_t v;
      std::memcpy(&v, ram(m) + slot, 8);
      switch (in.u8() % 6) {
        case 0: v = (v & ~7ull) | (in.u8() & 7); break;                  // permissions
        case 1: v = (v & ~0x38ull) | uint64_t(in.u8() & 7) << 3; break;  // memory type
        case 2: v ^= 1ull << 7; break;                                   // large page
        case 3: v ^= 1ull << (8 + in.u8() % 56); break;                  // A/D, reserved, address
        case 4: v = mutate_value(in, v); break;
        default: v = (in.u64() & 0x000FFFFFFFFFF000ull) | (in.u8() & 0x7F); break;
      }
      put64(m, slot, v);
    }
  }
  // EPTP list (VMFUNC 0): entry 0 the EPTP, the others random.
  put64(m, kEptpList, eptp);
  for (unsigned n = in.u8() % 4; n--;) put64(m, kEptpList + (in.u16() % 512) * 8, mutate_value(in, eptp));

  // ---- bitmaps, MSR lists, APIC pages, shadow VMCS --------------------------------------
  auto fill_page = [&](uint64_t pa) {
    const uint8_t how = in.u8();
    std::memset(ram(m) + pa, how & 1 ? 0xFF : 0, 4096);
    for (unsigned n = (how >> 1) % 16; n--;) ram(m)[pa + in.u16() % 4096] = in.u8();
  };
  for (uint64_t pa : {kIoA, kIoB, kMsrBitmap, kVirtApic, kPostedDesc, kPml}) fill_page(pa);
  {
    uint8_t bm[4096];
    for (uint64_t pa : {kVmreadBitmap, kVmwriteBitmap}) {
      if (in.bit()) {
        vmx::default_shadow_bitmap(k, pa == kVmwriteBitmap, bm);
        std::memcpy(ram(m) + pa, bm, 4096);
        for (unsigned n = in.u8() % 4; n--;) ram(m)[pa + in.u16() % 4096] ^= uint8_t(1u << (in.u8() % 8));
      } else {
        fill_page(pa);
      }
    }
  }
  ram(m)[kVirtApic + 0x80] &= 0xF0;  // VTPR: mostly consistent with TPR threshold 0
  // MSR lists (26.4, 27.4): MSRs with values WRMSR accepts, now and then one it does not,
  // an MSR the lists must refuse (FS/GS base, x2APIC, SMBASE...), or anything.
  static constexpr struct { uint32_t index; uint64_t value; } kMsrs[] = {
      {0x10, 0x100000}, {0x1B, 0xFEE00900}, {0x3A, 5}, {0x48, 0}, {0x8B, 0}, {0x174, 0x08},
      {0x175, kGStack}, {0x176, kGCode}, {0x1D9, 0}, {0x277, 0x0007040600070406ull},
      {0x2FF, 0xC06}, {0x480, 0}, {0x6E0, 0}, {0x808, 0}, {0xC0000080, 0xD01},
      {0xC0000081, 0}, {0xC0000082, kGCode}, {0xC0000084, 0}, {0xC0000100, 0},
      {0xC0000101, 0}, {0xC0000102, kGData}, {0xC0000103, 0}, {0x9B, 0}, {0x9E, 0},
      {0xDA0, 0}};
  uint32_t msr_count[3];
  {
    const uint64_t lists[3] = {kEntryMsrLoad, kExitMsrStore, kExitMsrLoad};
    for (unsigned l = 0; l < 3; l++) {
      const uint8_t how = in.u8();
      msr_count[l] = how < 192 ? 0 : how < 248 ? (how & 3) + 1 : uint32_t(mutate_value(in, 2));
      for (unsigned i = 0; i < 4; i++) {
        const uint8_t pick = in.u8();
        const auto& e = kMsrs[pick % (sizeof kMsrs / sizeof kMsrs[0])];
        const bool odd = in.chance(32);
        put64(m, lists[l] + 16 * i, odd && (pick & 1) ? mutate_value(in, e.index) : e.index);
        put64(m, lists[l] + 16 * i + 8, odd && !(pick & 1) ? mutate_value(in, e.value) : e.value);
      }
    }
  }
  // The shadow VMCS: random field values, sometimes a random header.
  for (unsigned n = in.u8() % 8; n--;)
    put64(m, kShadow + vmx::kVmcsFieldsOffset + 8 * (in.u8() % vmx::kFieldCount), in.u64());
  if (in.chance(16)) put32(m, kShadow, in.u32());

  // A VMCS-ish pointer: the regions, the VMXON region, unaligned, beyond RAM or MAXPHYADDR.
  auto pointer = [&]() -> uint64_t {
    static constexpr uint64_t kPtrs[] = {kVmcsA, kVmcsB, kShadow, kVmxon, kVmcsA + 8, 0,
                                         0x1000000, 1ull << 46, kEptPml4, kHostCode};
    const uint8_t p = in.u8();
    if (p >= 240) return in.u64();
    if (p >= 128) return kVmcsMore + (p % kVmcsMoreCount) * 4096;
    return kPtrs[p % (sizeof kPtrs / sizeof kPtrs[0])];
  };
  // ---- the baseline VMCS ------------------------------------------------------------------
  std::vector<FieldWrite> fields;
  auto set = [&](Field f, uint64_t v) { fields.push_back({enc(f), v}); };
  const uint64_t host_cr4 = c.cr4;
  set(Field::PIN_BASED_VM_EXEC_CONTROL, pin);
  set(Field::CPU_BASED_VM_EXEC_CONTROL, proc);
  set(Field::VM_EXIT_CONTROLS, exitc);
  set(Field::VM_ENTRY_CONTROLS, entryc);
  if (k.has(vmx::Feature::SECONDARY)) set(Field::SECONDARY_VM_EXEC_CONTROL, proc2);
  set(Field::EXCEPTION_BITMAP, in.u32());
  set(Field::PAGE_FAULT_ERROR_CODE_MASK, in.chance(64) ? in.u32() : 0);
  set(Field::PAGE_FAULT_ERROR_CODE_MATCH, in.chance(64) ? in.u32() : 0);
  set(Field::CR3_TARGET_COUNT, in.u8() % 5);
  set(Field::CR3_TARGET_VALUE0, kGPml4);
  set(Field::CR0_GUEST_HOST_MASK, in.chance(128) ? in.u64() : 0);
  set(Field::CR4_GUEST_HOST_MASK, in.chance(128) ? in.u64() : 0);
  set(Field::CR0_READ_SHADOW, in.u32());
  set(Field::CR4_READ_SHADOW, in.u32());
  set(Field::IO_BITMAP_A, kIoA);
  set(Field::IO_BITMAP_B, kIoB);
  set(Field::MSR_BITMAP, kMsrBitmap);
  set(Field::VM_EXIT_MSR_STORE_ADDR, kExitMsrStore);
  set(Field::VM_EXIT_MSR_LOAD_ADDR, kExitMsrLoad);
  set(Field::VM_ENTRY_MSR_LOAD_ADDR, kEntryMsrLoad);
  set(Field::VM_ENTRY_MSR_LOAD_COUNT, msr_count[0]);
  set(Field::VM_EXIT_MSR_STORE_COUNT, msr_count[1]);
  set(Field::VM_EXIT_MSR_LOAD_COUNT, msr_count[2]);
  set(Field::TSC_OFFSET, in.u64());
  set(Field::VIRTUAL_APIC_PAGE_ADDR, kVirtApic);
  // TPR threshold: bits 3:0 at most VTPR[7:4] (26.2.1.1) unless the input says otherwise.
  set(Field::TPR_THRESHOLD, in.chance(8) ? in.u32() : in.u8() & ram(m)[kVirtApic + 0x80] >> 4);
  set(Field::APIC_ACCESS_ADDR, kApicAccess);
  set(Field::POSTED_INTR_NV, in.u8());
  set(Field::POSTED_INTR_DESC_ADDR, kPostedDesc);
  set(Field::EPT_POINTER, eptp);
  set(Field::VIRTUAL_PROCESSOR_ID, 1 + in.u8() % 4);
  set(Field::PML_ADDRESS, kPml);
  set(Field::GUEST_PML_INDEX, in.chance(32) ? in.u16() : 511);
  set(Field::VM_FUNCTION_CONTROL, in.u8() & 1);
  set(Field::EPTP_LIST_ADDRESS, kEptpList);
  set(Field::VMREAD_BITMAP, kVmreadBitmap);
  set(Field::VMWRITE_BITMAP, kVmwriteBitmap);
  set(Field::XSS_EXIT_BITMAP, in.u64());
  set(Field::TSC_MULTIPLIER, in.chance(128) ? in.u64() : 1ull << 48);
  set(Field::PLE_GAP, in.u8());
  set(Field::PLE_WINDOW, in.u16());
  set(Field::EOI_EXIT_BITMAP0, in.u64());
  set(Field::GUEST_INTR_STATUS, in.chance(64) ? in.u16() : 0);
  set(Field::VMX_PREEMPTION_TIMER_VALUE, in.u16());
  // The VMCS link pointer: the shadow VMCS when shadowing is on (mostly), else ~0 (mostly).
  const bool shadowing = (proc & vmx::CPU_SECONDARY_CONTROLS) && (proc2 & vmx::CPU2_VMCS_SHADOWING);
  uint64_t link = (shadowing ? !in.chance(32) : in.chance(16)) ? kShadow : ~0ull;
  if (in.chance(8)) link = pointer();  // the current VMCS, another one, anything
  set(Field::VMCS_LINK_POINTER, link);
  // Host state (26.2.2-26.2.4): the processor as it runs now.
  set(Field::HOST_CR0, c.cr0);
  set(Field::HOST_CR3, c.cr3);
  set(Field::HOST_CR4, host_cr4);
  set(Field::HOST_CS_SELECTOR, 0x08);
  for (Field f : {Field::HOST_SS_SELECTOR, Field::HOST_DS_SELECTOR, Field::HOST_ES_SELECTOR,
                  Field::HOST_FS_SELECTOR, Field::HOST_GS_SELECTOR})
    set(f, 0x10);
  set(Field::HOST_TR_SELECTOR, 0x18);
  set(Field::HOST_TR_BASE, kHostTss);
  set(Field::HOST_GDTR_BASE, kHostGdt);
  set(Field::HOST_IDTR_BASE, kHostIdt);
  set(Field::HOST_IA32_EFER, c.efer);
  set(Field::HOST_IA32_PAT, 0x0007040600070406ull);
  set(Field::HOST_RSP, kHostStack);
  // HOST_RIP is set below, once the handler's address is known.
  // Guest state (26.3.1) for the mode.
  const uint64_t cr0_pe_pg = isa::CR0_PE | isa::CR0_PG;
  const uint64_t gcr0 = (mode == kReal ? 0 : cr0_pe_pg) | isa::CR0_NE | isa::CR0_ET;
  uint64_t gcr4 = isa::CR4_VMXE;
  uint64_t gcr3 = 0;
  if (mode == kLong64) gcr4 |= isa::CR4_PAE | isa::CR4_OSFXSR, gcr3 = kGPml4;
  if (mode == kProt32) gcr4 |= isa::CR4_PSE, gcr3 = kGPd32;
  set(Field::GUEST_CR0, gcr0);
  set(Field::GUEST_CR3, gcr3);
  set(Field::GUEST_CR4, gcr4);
  set(Field::GUEST_DR7, 0x400);
  set(Field::GUEST_IA32_DEBUGCTL, 0);
  set(Field::GUEST_IA32_PAT, 0x0007040600070406ull);
  set(Field::GUEST_IA32_EFER, mode == kLong64 ? 0xD00 : 0);
  set(Field::GUEST_RFLAGS, 2 | (in.chance(64) ? uint64_t(isa::FLAG_IF) : 0));
  const uint16_t cs_sel = mode == kLong64 ? 0x08 : mode == kProt32 ? 0x28 : uint16_t(kGCode >> 4);
  const uint32_t cs_ar = mode == kLong64 ? 0xA09B : mode == kProt32 ? 0xC09B : 0x9B;
  const uint32_t limit = mode == kReal ? 0xFFFF : 0xFFFFFFFF;
  const uint16_t ds_sel = mode == kReal ? uint16_t(kGData >> 4) : 0x10;
  const uint64_t ds_base = mode == kReal ? kGData : 0;
  set(Field::GUEST_CS_SELECTOR, cs_sel);
  set(Field::GUEST_CS_BASE, mode == kReal ? kGCode : 0);
  set(Field::GUEST_CS_LIMIT, limit);
  set(Field::GUEST_CS_AR_BYTES, cs_ar);
  for (unsigned i = 0; i < 6; i++) {
    if (i == 1) continue;  // CS
    set(Field(unsigned(Field::GUEST_ES_SELECTOR) + i), ds_sel);
    set(Field(unsigned(Field::GUEST_ES_BASE) + i), ds_base);
    set(Field(unsigned(Field::GUEST_ES_LIMIT) + i), limit);
    set(Field(unsigned(Field::GUEST_ES_AR_BYTES) + i), mode == kReal ? 0x93 : 0xC093);
  }
  set(Field::GUEST_TR_SELECTOR, 0x18);
  set(Field::GUEST_TR_BASE, kGTss);
  set(Field::GUEST_TR_LIMIT, 0x67);
  set(Field::GUEST_TR_AR_BYTES, 0x8B);
  set(Field::GUEST_LDTR_AR_BYTES, 0x10000);
  set(Field::GUEST_GDTR_BASE, kGGdt);
  set(Field::GUEST_GDTR_LIMIT, 0x2F);
  set(Field::GUEST_IDTR_BASE, mode == kLong64 ? kGIdt64 : mode == kProt32 ? kGIdt32 : 0);
  set(Field::GUEST_IDTR_LIMIT, mode == kLong64 ? 0xFFF : mode == kProt32 ? 0x7FF : 0x3FF);
  set(Field::GUEST_RIP, mode == kReal ? 0 : kGCode);
  set(Field::GUEST_RSP, mode == kReal ? 0xFFF0 : kGStack);
  set(Field::GUEST_ACTIVITY_STATE, in.chance(16) ? in.u8() % 4 : 0);
  set(Field::GUEST_INTERRUPTIBILITY_INFO, in.chance(16) ? in.u8() % 32 : 0);
  set(Field::GUEST_PENDING_DBG_EXCEPTIONS, in.chance(16) ? in.u64() & 0x1500F : 0);
  if (in.chance(32)) {  // an event to inject: mostly well-formed (type, vector, error code)
    uint32_t info = vmx::INTR_INFO_VALID | (in.u16() & 0xFFF);
    if (!in.chance(64)) {
      static constexpr uint32_t kEvents[] = {0x0020, 0x0202, 0x0306, 0x0B0D, 0x0B0E, 0x0301,
                                             0x0412, 0x0501, 0x0603, 0x0700, 0x0480};
      info = vmx::INTR_INFO_VALID | kEvents[in.u8() % (sizeof kEvents / sizeof kEvents[0])];
    }
    set(Field::VM_ENTRY_INTR_INFO_FIELD, info);
    set(Field::VM_ENTRY_EXCEPTION_ERROR_CODE, in.u32());
    set(Field::VM_ENTRY_INSTRUCTION_LEN, in.u8() % 16);
  }
  for (unsigned n = 0; n < 4; n++) {
    uint64_t pdpte = in.chance(64) ? in.u64() : 0;
    set(Field(unsigned(Field::GUEST_PDPTR0) + n), pdpte);
  }

  // ---- mutations: any field (or any encoding) to any value ---------------------------------
  std::vector<FieldWrite> mutations;
  const uint8_t nmut = in.u8();
  for (unsigned n = nmut < 128 ? 0 : nmut % 12; n--;) {
    const uint8_t how = in.u8();
    if (how < 200) {
      const Field f = Field(in.u8() % vmx::kFieldCount);
      uint64_t base = 0;
      for (const FieldWrite& w : fields)
        if (w.encoding == enc(f)) base = w.value;
      mutations.push_back({enc(f) | (how & 1 && vmx::field_info(f).width == vmx::Width::W64), mutate_value(in, base)});
    } else {
      mutations.push_back({how & 1 ? in.u64() : in.u16() & 0x7FFF, in.u64()});
    }
  }

  // ---- host code -------------------------------------------------------------------------------
  Asm a(kHostCode);
  uint64_t next = kHostData;
  auto slot = [&](uint64_t v) -> uint32_t {  // an 8-byte operand in host data
    if (next + 16 > kHostDataEnd) next = kHostData;
    put64(m, next, v);
    uint64_t at = next;
    next += 8;
    return uint32_t(at);
  };
  auto slot16 = [&](uint64_t lo, uint64_t hi) -> uint32_t {
    next = (next + 15) & ~15ull;
    uint32_t at = slot(lo);
    slot(hi);
    return at;
  };
  auto field_encoding = [&]() -> uint64_t {
    const uint8_t p = in.u8();
    if (p < 224) {
      const auto& fi = vmx::field_info(Field(in.u8() % vmx::kFieldCount));
      return fi.encoding | (p & 1);
    }
    return p & 1 ? in.u64() : in.u16();
  };
  // One host operation from the input.
  auto host_op = [&]() {
    switch (in.u8() % 16) {
      case 0: case 1:  // VMREAD into a register / memory
        a.mov_imm(0, field_encoding());
        if (in.bit()) a.vmread_rr(3, 0);
        else a.vmread_m(slot(0), 0);
        break;
      case 2: case 3: {  // VMWRITE from a register / memory
        const uint64_t e = field_encoding();
        const uint64_t v = mutate_value(in, 0);
        a.mov_imm(0, e);
        if (in.bit()) a.mov_imm(3, v), a.vmwrite_rr(0, 3);
        else a.vmwrite_m(0, slot(v));
        break;
      }
      case 4: a.vmptrld(slot(pointer())); break;
      case 5: a.vmclear(slot(pointer())); break;
      case 6: a.vmptrst(slot(0)); break;
      case 7: {  // INVEPT: type 0-3 or anything, descriptor with an EPTP
        a.mov_imm(0, !in.chance(32) ? in.u8() % 4 : in.u64());
        a.invept(0, slot16(in.bit() ? eptp : mutate_value(in, eptp), in.u64()));
        break;
      }
      case 8: {  // INVVPID
        a.mov_imm(0, !in.chance(32) ? in.u8() % 4 : in.u64());
        const uint64_t vpid = !in.chance(32) ? in.u8() % 4 : in.u64();
        a.invvpid(0, slot16(vpid, in.bit() ? in.u64() : kGCode));
        break;
      }
      case 9:  // VMLAUNCH / VMRESUME in the middle (an entry returns to the handler)
        if (in.bit()) a.vmlaunch();
        else a.vmresume();
        break;
      case 10: a.vmcall(); break;
      case 11:  // VMXOFF then VMXON again (or not)
        if (in.chance(32)) {
          a.vmxoff();
          if (!in.chance(56)) a.vmxon(slot(!in.chance(32) ? kVmxon : pointer()));
        }
        break;
      case 12: {  // poke a structure the processor uses (VMCS regions, EPT, bitmaps, lists)
        static constexpr uint64_t kTargets[] = {kVmcsA, kVmcsB, kShadow, kVmxon, kEptPml4,
                                                kEptPt, kMsrBitmap, kEntryMsrLoad, kExitMsrStore,
                                                kVirtApic, kEptpList, kGCode};
        const uint64_t at = kTargets[in.u8() % (sizeof kTargets / sizeof kTargets[0])] + (in.u16() & 0xFF8);
        a.mov_imm(0, in.u64());
        a.store_rax(uint32_t(at));
        break;
      }
      case 13:  // RDMSR of a capability MSR (some do not exist: #GP, ends the host)
        if (in.chance(64)) a.mov_ecx(0x480 + in.u8() % 0x14), a.raw({0x0F, 0x32});
        break;
      case 14:  // an interrupt source: PIC initialised (vectors 0x20-0x2F) and the PIT's
                // channel 0 as a rate generator, so IRQ 0 arrives in non-root operation
        if (in.chance(128)) {
          const uint16_t count = uint16_t(2 + in.u8() % 64);
          for (auto [port, v] : {std::pair<uint8_t, uint8_t>{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04},
                                 {0x21, 0x01}, {0x21, uint8_t(0xFE & in.u8())}, {0x43, 0x34},
                                 {0x40, uint8_t(count)}, {0x40, uint8_t(count >> 8)}})
            a.raw({0xB0, v, 0xE6, port});  // mov al, v; out port, al
        }
        break;
      default: break;  // nothing: fewer host operations
    }
  };

  // Prologue: VMXON, VMCLEAR + VMPTRLD of VMCS A, the baseline and the mutations.
  a.vmxon(slot(kVmxon));
  a.vmclear(slot(kVmcsA));
  if (image) {
    // The region image holds the baseline (24.11.1 leaves the format to the processor;
    // nestsim's layout is vmx/vmcs.h's), plus random slots when asked.
    for (const FieldWrite& w : fields) {
      vmx::FieldRef r;
      if (vmx::lookup_field(k, w.encoding, r))
        put64(m, kVmcsA + vmx::kVmcsFieldsOffset + 8 * unsigned(r.field), w.value);
    }
    for (unsigned n = in.u8() % 4; n--;)
      put64(m, kVmcsA + vmx::kVmcsFieldsOffset + 8 * (in.u8() % vmx::kFieldCount), in.u64());
    a.vmptrld(slot(kVmcsA));
  } else {
    a.vmptrld(slot(kVmcsA));
    for (const FieldWrite& w : fields) {
      a.mov_imm(0, w.encoding);
      a.mov_imm(3, w.value);
      a.vmwrite_rr(0, 3);
    }
  }
  for (const FieldWrite& w : mutations) {
    a.mov_imm(0, w.encoding);
    a.mov_imm(3, w.value);
    a.vmwrite_rr(0, 3);
  }
  // HOST_RIP: the handler follows the pre-launch code; its address is patched in.
  a.mov_imm(0, enc(Field::HOST_RIP));
  const size_t host_rip_imm = a.bytes().size() + 2;
  a.mov_imm(3, 0);
  a.vmwrite_rr(0, 3);
  a.raw({0x45, 0x31, 0xFF});  // xor r15d, r15d: exits handled
  for (unsigned n = in.u8() % 8; n--;) host_op();
  a.vmlaunch();
  a.exit_device(0x10);  // VMLAUNCH failed
  const uint64_t handler_rip = a.here();
  a.raw({0x49, 0xFF, 0xC7});                     // inc r15
  a.raw({0x49, 0x83, 0xFF, uint8_t(resumes)});  // cmp r15, resumes
  const size_t jae_done = a.bytes().size();
  a.raw({0x0F, 0x83, 0, 0, 0, 0});  // jae done (rel32 patched): the handler's budget
  // (first, so that host operations which enter the guest again stay bounded)
  for (unsigned n = in.u8() % 8; n--;) host_op();
  if (advance_rip) {
    a.mov_eax(uint32_t(enc(Field::VM_EXIT_INSTRUCTION_LEN)));
    a.vmread_rr(1, 0);         // rcx = length
    a.mov_eax(uint32_t(enc(Field::GUEST_RIP)));
    a.vmread_rr(2, 0);         // rdx = RIP
    a.raw({0x48, 0x01, 0xCA});  // add rdx, rcx
    a.vmwrite_rr(0, 2);
  }
  a.vmresume();
  a.vmlaunch();  // after a VMCLEAR of the current VMCS, say
  a.exit_device(0x11);  // VMRESUME and VMLAUNCH failed
  const uint32_t done_rel = uint32_t(a.bytes().size() - (jae_done + 6));
  a.exit_device(0x00);  // done: the resumes are used up
  std::vector<uint8_t> code = a.bytes();
  for (int i = 0; i < 4; i++) code[jae_done + 2 + i] = uint8_t(done_rel >> (8 * i));
  for (int i = 0; i < 8; i++) code[host_rip_imm + i] = uint8_t(handler_rip >> (8 * i));
  if (kHostCode + code.size() > kHostCodeEnd) code.resize(kHostCodeEnd - kHostCode);
  std::memcpy(ram(m) + kHostCode, code.data(), code.size());

  // ---- guest code: generated exiting instructions mixed with random bytes ------------------
  {
    std::vector<uint8_t> g;
    auto imm = [&](uint64_t v, int n) { for (int i = 0; i < n; i++) g.push_back(uint8_t(v >> (8 * i))); };
    const bool wide = mode == kLong64;
    if (stats) stats->guest_code_at = size - in.left();
    while (in.left() && g.size() + 32 < kGCodeMax) {
      const uint8_t op = in.u8();
      if (op < 128) {  // raw bytes
        size_t len = 1 + in.u8() % 32;
        if (len > in.left()) len = in.left();
        g.insert(g.end(), in.rest(), in.rest() + len);
        in.skip(len);
        continue;
      }
      if (wide) g.push_back(0x48);
      g.push_back(0xB8);  // mov (r/e)ax, imm
      imm(field_encoding(), wide ? 8 : mode == kReal ? 2 : 4);
      if (wide) g.push_back(0x48);
      g.push_back(0xB9);  // mov (r/e)cx, imm: an MSR of the lists, an EPTP index, anything
      const uint8_t rcx = in.u8();
      imm(rcx < 64    ? uint64_t(kMsrs[rcx % (sizeof kMsrs / sizeof kMsrs[0])].index)
          : rcx < 128 ? uint64_t(rcx % 4)
                      : in.u64(),
          wide ? 8 : mode == kReal ? 2 : 4);
      switch (op % 12) {
        case 0: g.insert(g.end(), {0x0F, 0x78, 0xC3}); break;  // vmread rbx, rax
        case 1: g.insert(g.end(), {0x0F, 0x79, 0xC1}); break;  // vmwrite rax, rcx
        case 2: g.insert(g.end(), {0x0F, 0x01, 0xC1}); break;  // vmcall
        case 3: g.insert(g.end(), {0x31, 0xC0, 0x0F, 0x01, 0xD4}); break;  // vmfunc 0, ecx = index
        case 4: g.insert(g.end(), {0x0F, 0xA2}); break;        // cpuid
        case 5: g.insert(g.end(), {0x0F, 0x32}); break;        // rdmsr
        case 6: g.insert(g.end(), {0x0F, 0x30}); break;        // wrmsr
        case 7: g.insert(g.end(), {0x0F, 0x22, uint8_t(0xC0 | (in.u8() % 5) << 3)}); break;  // mov crN, rax
        case 8: g.insert(g.end(), {0x0F, 0x20, uint8_t(0xC0 | (in.u8() % 5) << 3)}); break;  // mov rax, crN
        case 9: g.insert(g.end(), {0x89, 0xC2, 0xEC}); break;  // mov edx, eax; in al, dx
        case 10: g.insert(g.end(), {0x0F, 0x01, 0xC3}); break; // vmresume (exits)
        default: g.insert(g.end(), {0xF4}); break;             // hlt
      }
    }
    if (!g.empty()) std::memcpy(ram(m) + kGCode, g.data(), g.size());
  }
  for (unsigned i = 0; i < 16; i++)
    if (i != isa::RSP) c.r[i] = 0;
  c.r[isa::RSP] = kHostStack;

  const uint64_t entries0 = m.vmx().counters.entries, exits0 = m.vmx().counters.exits;
  sim::RunLimits lim;
  lim.max_insns = max_insns;
  lim.max_cycles = max_insns * 50;
  sim::RunResult r = m.run(lim);
  if (stats) {
    stats->entries = m.vmx().counters.entries - entries0;
    stats->exits = m.vmx().counters.exits - exits0;
    stats->launched = stats->entries > 0;
  }
  return r;
}

}  // namespace vmxrand
