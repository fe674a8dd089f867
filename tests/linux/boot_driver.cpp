// A small driver that boots a bzImage with sim/boot/linux.cpp outside the CLI, for
// investigating a Linux boot: a trace window that costs nothing before it opens
// (the traced loop starts at --trace-start) and a progress line per slice.
//   nestsim_linux_boot KERNEL [--initrd F] [--append S] [--mem MiB] [--max-insns N]
//                      [--trace FILE --trace-start N --trace-count N] [--slice N]
//                      [--serial-out FILE [--until TEXT]]
// --until stops at the end of the first slice after which the serial output holds
// TEXT (slices of --slice instructions, 10^8 by default): how docs/PERFORMANCE.md's
// "instructions and host seconds to /init" are measured (with --slice 10000000).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "sim/boot/boot.h"
#include "sim/machine.h"
#include "sim/trace.h"

namespace {

// Whether everything the guest wrote to `serial` so far contains `text`.
bool serial_has(std::FILE* serial, const std::string& text) {
  std::fflush(serial);
  std::string out;
  std::rewind(serial);
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, serial)) > 0;) out.append(buf, n);
  std::fseek(serial, 0, SEEK_END);
  return out.find(text) != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s KERNEL [--initrd F] [--append S] [--mem MiB] [--max-insns N] "
                         "[--trace FILE --trace-start N --trace-count N] [--slice N]\n", argv[0]);
    return 2;
  }
  sim::BootOptions o;
  o.path = argv[1];
  uint64_t mem_mib = 512, max_insns = ~0ull, tstart = ~0ull, tcount = 100000, slice = 100000000;
  std::string trace, serial_out, until;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--initrd") o.initrd = v;
    else if (a == "--append") o.append = v;
    else if (a == "--mem") mem_mib = std::strtoull(v, nullptr, 0);
    else if (a == "--max-insns") max_insns = std::strtoull(v, nullptr, 0);
    else if (a == "--trace") trace = v;
    else if (a == "--trace-start") tstart = std::strtoull(v, nullptr, 0);
    else if (a == "--trace-count") tcount = std::strtoull(v, nullptr, 0);
    else if (a == "--slice") slice = std::strtoull(v, nullptr, 0);
    else if (a == "--serial-out") serial_out = v;
    else if (a == "--until") until = v;
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  sim::MachineConfig cfg;
  cfg.ram_bytes = mem_mib << 20;
  std::FILE* serial = nullptr;
  if (!serial_out.empty()) {
    serial = std::fopen(serial_out.c_str(), "w+");
    if (!serial) { std::perror(serial_out.c_str()); return 2; }
    cfg.serial_out = serial;
  }
  sim::Machine m(cfg);
  try {
    sim::load_linux(m, sim::read_file(o.path), o);
  } catch (const sim::ImageError& e) {
    std::fprintf(stderr, "nestsim_linux_boot: %s\n", e.what());
    return 2;
  }
  std::unique_ptr<sim::Tracer> tracer;
  std::FILE* tf = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  sim::RunResult r;
  isa::Cpu& c = m.cpu();
  uint64_t next_report = 0;
  for (;;) {
    sim::RunLimits lim;
    lim.max_insns = std::min(max_insns, c.icount + slice);
    if (!tracer && tstart != ~0ull) lim.max_insns = std::min(lim.max_insns, std::max(tstart, c.icount));
    if (!tracer && tstart != ~0ull && c.icount >= tstart) {
      tf = trace == "-" || trace.empty() ? stderr : std::fopen(trace.c_str(), "w");
      sim::TraceFilter f;
      f.start = tstart;
      f.count = tcount;
      tracer = std::make_unique<sim::Tracer>(tf, f, sim::TraceRegs::kChanged);
      m.set_tracer(tracer.get());
      continue;
    }
    r = m.run(lim);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.icount >= next_report) std::fprintf(stderr, "[%.1fs] icount %llu rip %llx cr0 %llx cr3 %llx\n", s,
                 (unsigned long long)c.icount, (unsigned long long)c.rip(),
                 (unsigned long long)c.cr0, (unsigned long long)c.cr3);
    if (c.icount >= next_report) next_report = c.icount + 1000000000;
    if (r.reason != sim::StopReason::kLimit || c.icount >= max_insns) break;
    if (serial && !until.empty() && serial_has(serial, until)) {
      std::fprintf(stderr, "until: '%s' seen by icount %llu, host %.2fs\n", until.c_str(),
                   (unsigned long long)c.icount, s);
      break;
    }
    if (tracer && tracer->done()) break;
  }
  if (tracer) tracer->flush();
  if (serial && !until.empty() && r.reason != sim::StopReason::kLimit)
    std::fprintf(stderr, "until: '%s' %s (the run ended in the last slice)\n", until.c_str(),
                 serial_has(serial, until) ? "seen" : "never seen");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "stop: %s value %u icount %llu cycles %llu host %.2fs rip %llx %s\n",
               sim::stop_reason_name(r.reason), r.exit_value, (unsigned long long)c.icount,
               (unsigned long long)c.cycles, s, (unsigned long long)c.rip(), r.message.c_str());
  if (r.reason == sim::StopReason::kShutdown || r.reason == sim::StopReason::kFault)
    std::fprintf(stderr, "fault vector %u error %llx at rip %llx\n", unsigned(r.fault.vector),
                 (unsigned long long)r.fault.error, (unsigned long long)r.fault_rip);
  return 0;
}
