// bench_icount: counts the instructions a Linux x86-64 program retires, by
// single-stepping it with ptrace. Used on the hosted builds of the benchmark kernels
// (the same bench_run object code) to get exact instruction counts for peers that do
// not report one (Bochs, QEMU), and to check nestsim's own count.
//
// Counting convention, as the hardware's INST_RETIRED: a REP-prefixed string
// instruction counts once, however many iterations it performs. Under single-step the
// CPU traps after every iteration of a REP string instruction with RIP unchanged
// (SDM Vol. 3A 17.3.1.4); those traps are not counted.
//
// usage: bench_icount PROGRAM [ARGS...]   -> prints the count on stdout; the
// program's own stdout is passed through on stderr.
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

// True if the bytes at `p` are a REP/REPE/REPNE-prefixed string instruction
// (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS), legacy prefixes and REX allowed.
bool is_rep_string(const uint8_t* p, size_t n) {
  bool rep = false;
  size_t i = 0;
  for (; i < n; ++i) {
    uint8_t b = p[i];
    if (b == 0xF2 || b == 0xF3) rep = true;
    else if (b == 0x66 || b == 0x67 || b == 0x2E || b == 0x3E || b == 0x26 ||
             b == 0x36 || b == 0x64 || b == 0x65 || b == 0xF0) continue;
    else break;
  }
  if (i < n && (p[i] & 0xF0) == 0x40) ++i;  // REX
  if (!rep || i >= n) return false;
  uint8_t op = p[i];
  return (op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF) || (op >= 0x6C && op <= 0x6F);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    dup2(2, 1);  // keep our stdout for the count alone
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(127);
    execv(argv[1], argv + 1);
    std::fprintf(stderr, "bench_icount: cannot run %s: %s\n", argv[1], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);  // stopped at exec
  if (!WIFSTOPPED(status)) {
    std::fprintf(stderr, "bench_icount: %s did not start\n", argv[1]);
    return 1;
  }
  uint64_t count = 0;
  uint64_t last_rip = ~0ull;
  for (;;) {
    if (ptrace(PTRACE_SINGLESTEP, child, nullptr, nullptr) != 0) {
      std::perror("ptrace(SINGLESTEP)");
      return 1;
    }
    waitpid(child, &status, 0);
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, nullptr, &regs);
    // A trap with RIP unchanged after a REP string step is the same instruction.
    if (regs.rip == last_rip) {
      uint8_t bytes[16];
      for (size_t i = 0; i < sizeof bytes; i += 8) {
        long w = ptrace(PTRACE_PEEKTEXT, child, (void*)(regs.rip + i), nullptr);
        std::memcpy(bytes + i, &w, 8);
      }
      if (is_rep_string(bytes, sizeof bytes)) continue;
    }
    ++count;
    last_rip = regs.rip;
  }
  // The step that ran the exit system call ended the process without a trap.
  ++count;
  if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench_icount: %s failed (status %d)\n", argv[1], status);
    return 1;
  }
  std::printf("%llu\n", (unsigned long long)count);
  return 0;
}
