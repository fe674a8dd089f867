// Test harness for the x87 and XSAVE-family semantics: runs one instruction in the
// simulator (decoded, bound, handler called directly) and natively on the host, with
// the same state, and lets the test compare the two.
//
// Guest linear addresses are host addresses: the FlatBus maps [arena, arena+size) of
// this process one-to-one, and the native copy of the instruction is placed at the
// address the simulator's RIP says it is at, so FIP, FDP and FOP compare exactly.
#pragma once
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "isa/cpu.h"
#include "isa/x87.h"

namespace x87test {

// Deterministic random source shared by the differential tests.
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t next() { return g(); }
  unsigned below(unsigned n) { return unsigned(g() % n); }
  bool chance(unsigned pct) { return below(100) < pct; }
};


struct FlatBus : isa::Bus {
  uintptr_t lo = 0;
  size_t size = 0;
  void check(uint64_t lin, unsigned n) {
    if (lin < lo || lin + n > lo + size) isa::raise_page_fault(lin, 0);
  }
  void read_slow(isa::Cpu&, uint64_t lin, void* dst, unsigned n, isa::Access) override {
    check(lin, n);
    std::memcpy(dst, reinterpret_cast<const void*>(lin), n);
  }
  void write_slow(isa::Cpu&, uint64_t lin, const void* src, unsigned n) override {
    check(lin, n);
    std::memcpy(reinterpret_cast<void*>(lin), src, n);
  }
  void probe_write(isa::Cpu&, uint64_t lin, unsigned n) override { check(lin, n); }
  uint32_t port_in(isa::Cpu&, uint16_t, unsigned) override { return 0; }
  void port_out(isa::Cpu&, uint16_t, unsigned, uint32_t) override {}
  void cpuid(isa::Cpu&, uint32_t, uint32_t, uint32_t out[4]) override { out[0] = out[1] = out[2] = out[3] = 0; }
  uint64_t random64(isa::Cpu&) override { return 0; }
};

// A 64-bit, CPL 0 processor with x87/SSE/AVX enabled (CR0.NE, CR4.OSFXSR/OSXSAVE, XCR0=7).
inline void init_cpu(isa::Cpu& c, FlatBus& bus) {
  c.bus = &bus;
  c.code_size = isa::CodeSize::k64;
  c.long64 = true;
  c.cpl = 0;
  c.cr0 = 0x80000033;  // PG NE ET MP PE
  c.cr4 = isa::CR4_OSFXSR | isa::CR4_OSXMMEXCPT | isa::CR4_OSXSAVE | 0x20;
  c.xcr0 = 7;
  c.efer = 0x500;
  for (auto& v : c.v) std::memset(v.u8, 0, 32);
  c.flush_tlb();
}

// Decodes `bytes` (64-bit mode) and runs the handler as the run loop would (RIP already
// past the instruction). Returns the fault vector, or -1.
inline int run_sim(isa::Cpu& c, const uint8_t* bytes, unsigned n, uint64_t at) {
  isa::DecodedInst d;
  if (isa::decode(bytes, n, c.code_size, d) != isa::kDecodeOk) throw std::runtime_error("decode failed");
  c.rip() = at + d.len;
  try {
    d.fn(c, d);
  } catch (const isa::CpuFault& f) {
    c.rip() = at;
    return f.vector;
  }
  return -1;
}

// Native runner. The stub (rdi = input image, rsi = output image, rdx = memory operand
// for [rbx], rcx = RFLAGS): XRSTOR64 the whole input (x87, SSE, AVX; EDX:EAX from
// mask 7), POPF, RAX = in[0x1D0], RDX = in[0x1E0]; the instruction; then
// PUSHF -> out[0x1D0], RAX -> out[0x1D8], XSAVE64 of everything into out. FNCLEX and
// FNINIT before returning so that no unmasked x87 exception survives into the host.
struct Native {
  static constexpr size_t kCodeSize = 4096;
  uint8_t* code = nullptr;
  unsigned insn_at = 0;
  Native() {
    void* p = mmap(nullptr, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap");
    code = static_cast<uint8_t*>(p);
  }
  ~Native() { munmap(code, kCodeSize); }
  // Places the instruction; returns its address.
  uint64_t place(const uint8_t* insn, unsigned n) {
    static const uint8_t pre[] = {
        0x53,                                      // push rbx
        0x48, 0x89, 0xD3,                          // mov rbx, rdx
        0x49, 0x89, 0xF9,                          // mov r9, rdi
        0x48, 0x89, 0xCF,                          // mov rdi, rcx (keep flags)
        0xB8, 0x07, 0x00, 0x00, 0x00,              // mov eax, 7 (x87|SSE|AVX only:
        0x31, 0xD2,                                // xor edx, edx  XFD-armed AMX must stay out)
        0x49, 0x0F, 0xAE, 0x29,                    // xrstor64 [r9]
        0x57, 0x9D,                                // push rdi; popf
        0x49, 0x8B, 0x81, 0xD0, 0x01, 0, 0,        // mov rax, [r9+0x1d0]
        0x49, 0x8B, 0x91, 0xE0, 0x01, 0, 0,        // mov rdx, [r9+0x1e0]
    };
    static const uint8_t post[] = {
        0x9C, 0x41, 0x58,                          // pushf; pop r8
        0x4C, 0x89, 0x86, 0xD0, 0x01, 0, 0,        // mov [rsi+0x1d0], r8
        0x48, 0x89, 0x86, 0xD8, 0x01, 0, 0,        // mov [rsi+0x1d8], rax
        0xB8, 0x07, 0x00, 0x00, 0x00,              // mov eax, 7
        0x31, 0xD2,                                // xor edx, edx
        0x48, 0x0F, 0xAE, 0x26,                    // xsave64 [rsi]
        0xDB, 0xE2, 0xDB, 0xE3,                    // fnclex; fninit
        0x5B, 0xC3,                                // pop rbx; ret
    };
    unsigned k = 0;
    std::memcpy(code + k, pre, sizeof pre);
    k += sizeof pre;
    insn_at = k;
    std::memcpy(code + k, insn, n);
    k += n;
    std::memcpy(code + k, post, sizeof post);
    return reinterpret_cast<uint64_t>(code + insn_at);
  }
  void run(void* in, void* out, void* mem, uint64_t rflags) {
    using Fn = void (*)(void*, void*, void*, uint64_t);
    reinterpret_cast<Fn>(code)(in, out, mem, rflags);
  }
  // As run(), but a fault of the instruction (SIGSEGV for #GP, SIGFPE, SIGILL, SIGBUS)
  // is caught and returned; 0 when it completed.
  int run_catching(void* in, void* out, void* mem, uint64_t rflags) {
    static sigjmp_buf* jb_ptr;
    sigjmp_buf jb;
    jb_ptr = &jb;
    struct sigaction sa {}, old[4];
    sa.sa_sigaction = [](int sig, siginfo_t*, void*) { siglongjmp(*jb_ptr, sig); };
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    const int sigs[4] = {SIGSEGV, SIGFPE, SIGILL, SIGBUS};
    for (int i = 0; i < 4; i++) sigaction(sigs[i], &sa, &old[i]);
    int sig = sigsetjmp(jb, 1);
    if (sig == 0) run(in, out, mem, rflags);
    for (int i = 0; i < 4; i++) sigaction(sigs[i], &old[i], nullptr);
    return sig;
  }
};

// Layout of the images the stub exchanges (an XSAVE area plus scratch fields in the
// legacy region's available bytes 464-511).
constexpr unsigned kImgSize = 1024 + 64;
constexpr unsigned kOffFlags = 0x1D0, kOffRaxOut = 0x1D8, kOffRdx = 0x1E0;

struct alignas(64) Image {
  uint8_t b[kImgSize];
};

}  // namespace x87test
