// The instruction trace (sim/trace.h) on a Machine directly: Capstone in the mode of
// the code (16/32-bit), mode names and mode-change events, filters.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/machine.h"
#include "sim/trace.h"
#include "tests/sys/harness.h"

namespace {

struct TraceCapture {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  std::string text() {
    std::fflush(f);
    return std::string(buf, len);
  }
  ~TraceCapture() {
    std::fclose(f);
    std::free(buf);
  }
};

// Real mode at 0:0x7c00: sets CR0.PE (the code segment stays 16-bit: prot16).
std::string run_real_to_prot16(const sim::TraceFilter& filter) {
  sim::Machine m(sim::MachineConfig{});
  auto code = systest::nasm(
      "bits 16\norg 0x7c00\nmov ax, 0x1234\nmov eax, cr0\nor al, 1\nmov cr0, eax\nnop\nhlt\n");
  m.mem().write(0x7c00, code.data(), unsigned(code.size()));
  m.reset_real_mode(0x7c00, 0x7000);
  TraceCapture cap;
  sim::Tracer t(cap.f, filter, sim::TraceRegs::kNone);
  m.set_tracer(&t);
  REQUIRE(m.run(sim::RunLimits{}).reason == sim::StopReason::kHalted);
  return cap.text();
}

}  // namespace

TEST_CASE("trace: 16-bit code, mode names, the mode-change event", "[trace]") {
  std::string t = run_real_to_prot16(sim::TraceFilter{});
  CHECK(t.find("0 real 0000:00007c00 0000000000007c00  b8 34 12") == 0);
  CHECK(t.find("  mov ax, 0x1234\n") != std::string::npos);
  CHECK(t.find("real 0000:00007c03 0000000000007c03  0f 20 c0") != std::string::npos);
  CHECK(t.find("  mov eax, cr0\n") != std::string::npos);
  CHECK(t.find("4 prot16 ! mode real -> prot16\n") != std::string::npos);
  CHECK(t.find("4 prot16 0000:00007c0b 0000000000007c0b  90") != std::string::npos);
  CHECK(t.find("6 prot16 ! stop halted\n") != std::string::npos);
}

TEST_CASE("trace: mode filter keeps events, drops other modes' instructions", "[trace]") {
  sim::TraceFilter f;
  sim::TraceMode m;
  REQUIRE(sim::parse_trace_mode("prot16", m));
  f.modes = 1u << unsigned(m);
  std::string t = run_real_to_prot16(f);
  CHECK(t.find(" real 0000:") == std::string::npos);
  CHECK(t.find("4 prot16 0000:00007c0b") != std::string::npos);
  CHECK(t.find("! mode real -> prot16") != std::string::npos);
  CHECK_FALSE(sim::parse_trace_mode("smm", m));
}

TEST_CASE("trace: 32-bit code disassembles as 32-bit", "[trace]") {
  sim::Machine m(sim::MachineConfig{});
  auto code = systest::nasm("bits 32\norg 0x100000\nmov eax, 0x12345678\npush eax\nhlt\n");
  m.mem().write(0x100000, code.data(), unsigned(code.size()));
  m.reset_protected32(0x100000, 0x80000);
  TraceCapture cap;
  sim::Tracer t(cap.f, sim::TraceFilter{}, sim::TraceRegs::kChanged);
  m.set_tracer(&t);
  REQUIRE(m.run(sim::RunLimits{}).reason == sim::StopReason::kHalted);
  std::string s = cap.text();
  CHECK(s.find("0 prot32 0008:00100000 0000000000100000  b8 78 56 34 12") == 0);
  CHECK(s.find("mov eax, 0x12345678  | rax=12345678\n") != std::string::npos);
  CHECK(s.find("push eax  | rsp=7fffc\n") != std::string::npos);
}
