// nestsim command line. Exit status:
//   0                 the guest powered off, halted, or a run limit was reached
//   (v << 1) | 1      the guest wrote v to the exit device at port 0xF4 (QEMU convention)
//   2                 bad command line, configuration, image or results database (one
//                     line on stderr)
//   4                 the guest ended with an unhandled exception or a triple fault
//   6                 internal error, or the results could not be written to --db
//   128 + signal      interrupted by SIGINT, SIGTERM, SIGHUP or SIGPIPE (the run is
//                     recorded as 'interrupted')
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "isa/bind.h"
#include "sim/boot/boot.h"
#include "sim/loader.h"
#include "sim/platform.h"
#include "sim/machine.h"
#include "sim/memmap.h"
#include "sim/progress.h"
#include "sim/results_db.h"
#include "sim/stats.h"
#include "sim/trace.h"
#include "sim/version.h"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitGuestFault = 4;
constexpr int kExitInternal = 6;

// Simulated cycles per run slice: between slices the CLI updates the progress line
// and checks for signals (a signal also stops the current slice at once).
constexpr uint64_t kSliceCycles = 1ull << 24;

void usage(std::ostream& os, const po::options_description& opts) {
  os << "usage: nestsim run IMAGE [options]\n"
        "       nestsim cpu-models\n"
        "       nestsim --help | --version\n\n"
        "Runs IMAGE (a Multiboot kernel, a Linux bzImage, a PVH ELF kernel, an ELF64\n"
        "executable, or raw bytes with --format flat) on the simulated machine, prints\n"
        "what the guest writes to COM1, then the run's statistics on stderr. Every option can also be\n"
        "given in a --config file, one 'name = value' per line; the command line wins.\n"
        "Numbers (N, MiB) are decimal or 0x-prefixed hexadecimal.\n\n"
     << opts
     << "\nExit status: 0 guest done (power-off, HLT, limit); (v<<1)|1 when the guest\n"
        "writes v to port 0xF4; 2 bad input (options, config, image, database); 4 unhandled\n"
        "guest exception or triple fault; 6 internal error or results not written;\n"
        "128+N interrupted by signal N (SIGINT, SIGTERM, SIGHUP, SIGPIPE).\n";
}

// An unsigned option value: decimal or 0x-prefixed hex, nothing else (Boost's own
// conversion would take "-5" as 2^64 - 5). A bad value names the option (status 2).
struct Count {
  uint64_t v = 0;
  Count() = default;
  Count(uint64_t x) : v(x) {}
  operator uint64_t() const { return v; }
};

std::ostream& operator<<(std::ostream& os, const Count& c) { return os << c.v; }

void validate(boost::any& out, const std::vector<std::string>& values, Count*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& s = po::validators::get_single_string(values);
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  if (digits.empty() ||
      digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
    throw po::invalid_option_value(s);
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(digits.c_str(), &end, hex ? 16 : 10);
  if (errno == ERANGE || *end) throw po::invalid_option_value(s);
  out = boost::any(Count(v));
}

struct Options {
  std::string command, image, config, serial_out, serial_in, cpu_model = "server";
  bool serial_paced = false, trace_devices = true;
  Count ram_mib = 128, max_insns = 0, max_cycles = 0, seed = 0;
  // Boot (sim/boot/boot.h).
  std::string format = "auto", append, initrd, entry_mode, mem;
  std::vector<std::string> modules;
  Count load_addr = 0x100000, entry = 0;
  bool quiet = false, stats = false, no_progress = false;
  std::string db, trace, trace_regs = "none", trace_range;
  std::vector<std::string> trace_modes;
  Count trace_start = 0, trace_count = 0;
};

po::options_description make_options(Options& o) {
  po::options_description d("Options");
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config", po::value(&o.config)->value_name("FILE"),
       "read options from FILE (one 'name = value' per line, same names as here)")
      ("ram", po::value(&o.ram_mib)->value_name("MiB")->default_value(Count(128)),
       "guest RAM size in MiB (2..3072)")
      ("mem", po::value(&o.mem)->value_name("SIZE"),
       "guest RAM size with a K, M or G suffix (no suffix: MiB, as QEMU's -m), e.g. 256M or 1G: 2M..3G, a multiple of 4K (instead of --ram)")
      ("format", po::value(&o.format)->value_name("F")->default_value("auto"),
       "image format: auto (detects a Linux bzImage, a Multiboot header, a PVH ELF note, then ELF64), linux, multiboot, pvh, elf64 or flat")
      ("append", po::value(&o.append)->value_name("STR"),
       "kernel command line (Multiboot: the MBI cmdline is 'IMAGE STR', as QEMU's; Linux and PVH: STR)")
      ("module", po::value(&o.modules)->value_name("'FILE [ARGS]'")->composing(),
       "Multiboot module: FILE is loaded 4 KiB aligned and 'FILE ARGS' is its command line (repeat for several)")
      ("initrd", po::value(&o.initrd)->value_name("FILE"), "initial ramdisk (Linux and PVH images)")
      ("entry-mode", po::value(&o.entry_mode)->value_name("M"),
       "with --format flat: enter in real, prot32 or long mode (default long)")
      ("load-addr", po::value(&o.load_addr)->value_name("A"),
       "with --format flat: physical load address (default 0x100000)")
      ("entry", po::value(&o.entry)->value_name("A"),
       "with --format flat: entry address (default: the load address)")
      ("cpu-model", po::value(&o.cpu_model)->value_name("NAME")->default_value("server"),
       "CPU model (see 'nestsim cpu-models')")
      ("max-insns", po::value(&o.max_insns)->value_name("N"),
       "stop after N retired instructions (exact; a REP string retires when it completes, so bound long runs with --max-cycles too)")
      ("max-cycles", po::value(&o.max_cycles)->value_name("N"),
       "stop after N simulated cycles (checked between blocks)")
      ("seed", po::value(&o.seed)->value_name("N")->default_value(Count(0)),
       "seed of the RDRAND/RDSEED stream (runs are deterministic per seed)")
      ("serial-out", po::value(&o.serial_out)->value_name("FILE"),
       "write guest COM1 output to FILE instead of stdout")
      ("serial-in", po::value(&o.serial_in)->value_name("FILE"),
       "COM1 receives FILE's bytes at the line rate (deterministic); '-' = this terminal's stdin, polled (not deterministic)")
      ("serial-paced", po::value(&o.serial_paced)->value_name("BOOL")->default_value(false)->implicit_value(true),
       "COM1 transmits at its programmed line rate (a guest polling the UART waits for each character) instead of at once as on QEMU")
      ("trace-devices", po::value(&o.trace_devices)->value_name("BOOL")->default_value(true)->implicit_value(true),
       "with --trace: also record device register accesses and interrupt lines ('! dev', '! irq' lines)")
      ("db", po::value(&o.db)->value_name("FILE"),
       "append this run (workload, configuration, host, outcome, every statistic) to the SQLite results database FILE, created if absent (docs/RESULTS.md)")
      ("stats", po::bool_switch(&o.stats),
       "print every statistic (name, value, unit, description) to stderr after the summary")
      ("trace", po::value(&o.trace)->value_name("FILE"),
       "write an instruction trace to FILE ('-' = stdout): one line per instruction with its count, mode, CS:RIP, linear address, bytes and Capstone disassembly, plus exception/interrupt/mode events (sim/trace.h)")
      ("trace-regs", po::value(&o.trace_regs)->value_name("WHICH")->implicit_value("changed"),
       "with --trace: append registers after each instruction: 'changed' (the default when given without a value) or 'all' GPRs and RFLAGS; 'none' = off")
      ("trace-range", po::value(&o.trace_range)->value_name("LO-HI"),
       "with --trace: only instructions whose linear address is in LO..HI (hex, inclusive)")
      ("trace-mode", po::value(&o.trace_modes)->value_name("MODE")->composing(),
       "with --trace: only instructions executed in MODE: real, v8086, prot16, prot32, compat or long (repeat, or separate with commas, for several)")
      ("trace-start", po::value(&o.trace_start)->value_name("N"),
       "with --trace: start tracing at instruction count N (runs at full speed before)")
      ("trace-count", po::value(&o.trace_count)->value_name("N"),
       "with --trace: write at most N instruction lines, then run at full speed")
      ("no-progress", po::bool_switch(&o.no_progress),
       "do not draw the progress line (drawn on stderr only when it is a terminal)")
      ("quiet,q", po::bool_switch(&o.quiet), "do not print run statistics or progress");
  return d;
}

// One line naming the option, status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool parse_hex(const std::string& s, uint64_t& v) {
  std::string t = s;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t = t.substr(2);
  if (t.empty() || t.size() > 16 || t.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return false;
  v = std::stoull(t, nullptr, 16);
  return true;
}

sim::TraceFilter make_trace_filter(const Options& o) {
  sim::TraceFilter f;
  if (!o.trace_range.empty()) {
    size_t dash = o.trace_range.find('-');
    if (dash == std::string::npos || !parse_hex(o.trace_range.substr(0, dash), f.lo) ||
        !parse_hex(o.trace_range.substr(dash + 1), f.hi) || f.lo > f.hi)
      throw UsageError("--trace-range: expected LO-HI in hex with LO <= HI (e.g. 0x100000-0x1fffff), got '" +
                       o.trace_range + "'");
  }
  if (!o.trace_modes.empty()) {
    f.modes = 0;
    for (const std::string& item : o.trace_modes) {
      std::stringstream ss(item);
      std::string name;
      while (std::getline(ss, name, ',')) {
        sim::TraceMode m;
        if (!sim::parse_trace_mode(name, m))
          throw UsageError("--trace-mode: unknown mode '" + name +
                           "' (real, v8086, prot16, prot32, compat, long)");
        f.modes |= 1u << unsigned(m);
      }
    }
  }
  f.start = o.trace_start;
  if (o.trace_count) f.count = o.trace_count;
  return f;
}

sim::TraceRegs parse_trace_regs(const std::string& s) {
  if (s == "none") return sim::TraceRegs::kNone;
  if (s == "changed") return sim::TraceRegs::kChanged;
  if (s == "all") return sim::TraceRegs::kAll;
  throw UsageError("--trace-regs: expected none, changed or all, got '" + s + "'");
}

// The value of every option as it applies to this run (given or default), for the
// results database.
std::vector<std::pair<std::string, std::string>> config_of(const po::variables_map& vm) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, v] : vm) {
    if (name == "command" || name == "help" || name == "version") continue;
    if (name == "ram" && v.defaulted() && vm.count("mem")) continue;  // --mem gave the size
    const boost::any& a = v.value();
    std::string s;
    if (auto p = boost::any_cast<std::string>(&a)) s = *p;
    else if (auto p = boost::any_cast<Count>(&a)) s = std::to_string(p->v);
    else if (auto p = boost::any_cast<bool>(&a)) s = *p ? "true" : "false";
    else if (auto p = boost::any_cast<std::vector<std::string>>(&a)) {
      for (const std::string& e : *p) s += (s.empty() ? "" : ",") + e;
    } else {
      continue;
    }
    out.emplace_back(name, s);
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,+@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

volatile std::sig_atomic_t g_signal = 0;
bool* volatile g_stop_flag = nullptr;

extern "C" void on_signal(int sig) {
  g_signal = sig;
  // Leave the run loop at the next block boundary; the CLI then records the run.
  if (g_stop_flag) *g_stop_flag = true;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal terminates at once
  // SIGHUP: the terminal went away. All end the run as 'interrupted' with its results.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  // SIGPIPE: the reader of stdout (guest output, `--trace -`) went away. Every later
  // write there raises it again, so it stays caught (those writes fail with EPIPE).
  sa.sa_flags = 0;
  sigaction(SIGPIPE, &sa, nullptr);
}

// `signal_number`: the signal that interrupted the run, 0 if none.
void print_summary(const Options& o, sim::Machine& m, const sim::LoadedImage& img,
                   const sim::RunResult& r, double secs, int signal_number) {
  const isa::Cpu& c = m.cpu();
  std::fprintf(stderr, "\n--- nestsim run statistics ---\n");
  std::fprintf(stderr, "image          %s (%s, sha256 %.16s...)\n", o.image.c_str(),
               img.format.c_str(), img.sha256.c_str());
  std::fprintf(stderr, "cpu model      %s\n", m.model().name);
  if (signal_number) std::fprintf(stderr, "stop reason    interrupted (signal %d)", signal_number);
  else std::fprintf(stderr, "stop reason    %s", sim::stop_reason_name(r.reason));
  if (r.reason == sim::StopReason::kExitDevice) std::fprintf(stderr, " (value %u)", r.exit_value);
  if (r.reason == sim::StopReason::kFault)
    std::fprintf(stderr, " (%s, error code 0x%x, at rip 0x%llx)", isa::vector_name(r.fault.vector),
                 r.fault.error, (unsigned long long)r.fault_rip);
  if (r.reason == sim::StopReason::kShutdown) {
    if (!r.message.empty()) std::fprintf(stderr, " (%s)", r.message.c_str());
    else
      std::fprintf(stderr, " (first exception %s, error code 0x%x, at rip 0x%llx)",
                   isa::vector_name(r.fault.vector), r.fault.error, (unsigned long long)r.fault_rip);
  }
  std::fprintf(stderr, "\ninstructions   %llu\n", (unsigned long long)c.icount);
  std::fprintf(stderr, "cycles         %llu (simulated)\n", (unsigned long long)c.cycles);
  std::fprintf(stderr, "host seconds   %.3f\n", secs);
  std::fprintf(stderr, "MIPS           %.1f\n", secs > 0 ? c.icount / secs / 1e6 : 0.0);
  const auto& cc = m.code().counters;
  std::fprintf(stderr, "blocks built   %llu (%llu instructions decoded, %llu invalidated by writes)\n",
               (unsigned long long)cc.blocks_built, (unsigned long long)cc.insts_decoded,
               (unsigned long long)cc.invalidations);
  const auto& pc = m.mem().counters();
  std::fprintf(stderr, "port accesses  %llu in, %llu out (%llu unassigned)\n",
               (unsigned long long)pc.port_reads, (unsigned long long)pc.port_writes,
               (unsigned long long)(pc.unassigned_port_reads + pc.unassigned_port_writes));
  const uint64_t* un = isa::unimplemented_forms();
  for (unsigned f = 1; f < isa::kFormCount; f++)
    if (un[f])
      std::fprintf(stderr, "unimplemented  %s executed %llu times (#UD)\n", isa::kForms[f].name,
                   (unsigned long long)un[f]);
}

// The simulated core frequency for the progress line: CPUID leaf 0x16 EAX (processor
// base frequency in MHz, SDM Vol. 2A CPUID) when the model reports it, else the
// maximum non-turbo ratio of MSR_PLATFORM_INFO (0xCE, bits 15:8) times the 100 MHz
// bus clock (SDM Vol. 4, Sandy Bridge and later), else 0 (progress shows cycles).
double core_hz_of(const sim::CpuModel& m) {
  for (const sim::CpuidLeaf& l : m.cpuid)
    if (l.leaf == 0x16 && (l.eax & 0xFFFF)) return (l.eax & 0xFFFF) * 1e6;
  for (const sim::MsrDefault& d : m.msr_defaults)
    if (d.index == 0xCE && ((d.value >> 8) & 0xFF)) return ((d.value >> 8) & 0xFF) * 100e6;
  return 0;
}

int exit_status_of(const sim::RunResult& r) {
  switch (r.reason) {
    case sim::StopReason::kExitDevice: return int(((r.exit_value << 1) | 1) & 0xFF);
    case sim::StopReason::kFault:
    case sim::StopReason::kShutdown: return kExitGuestFault;
    case sim::StopReason::kError: return kExitInternal;
    default: return 0;
  }
}

// --mem SIZE: decimal digits with an optional K/M/G (or KiB/MiB/GiB) suffix; no
// suffix means MiB. False when malformed or out of range.
bool parse_mem_size(const std::string& s, uint64_t& bytes) {
  size_t n = 0;
  while (n < s.size() && n < 12 && s[n] >= '0' && s[n] <= '9') n++;
  if (n == 0 || (n < s.size() && s[n] >= '0' && s[n] <= '9')) return false;
  uint64_t v = std::stoull(s.substr(0, n));
  std::string suffix = s.substr(n);
  for (char& ch : suffix) ch = char(std::toupper((unsigned char)ch));
  unsigned shift;
  if (suffix.empty() || suffix == "M" || suffix == "MIB") shift = 20;
  else if (suffix == "K" || suffix == "KIB") shift = 10;
  else if (suffix == "G" || suffix == "GIB") shift = 30;
  else return false;
  bytes = v << shift;
  return (bytes >> shift) == v;
}

// Guest RAM from --ram (MiB) or --mem (SIZE): one line naming the option when bad.
uint64_t ram_bytes_of(const Options& o, const po::variables_map& vm) {
  if (vm.count("mem") && !vm["ram"].defaulted())
    throw UsageError("--mem and --ram both give the RAM size: use one");
  if (!vm.count("mem")) {
    if (o.ram_mib < (sim::kMinRam >> 20) || o.ram_mib > (sim::kRamLimit >> 20))
      throw UsageError("--ram must be between " + std::to_string(sim::kMinRam >> 20) + " and " +
                       std::to_string(sim::kRamLimit >> 20) + " MiB of guest RAM (got " +
                       std::to_string(o.ram_mib) + ")");
    return o.ram_mib << 20;
  }
  uint64_t bytes = 0;
  if (!parse_mem_size(o.mem, bytes) || bytes < sim::kMinRam || bytes > sim::kRamLimit || (bytes & 0xFFF))
    throw UsageError("--mem: expected a size like 256M or 1G, from 2M to 3G and a multiple of 4K, got '" +
                     o.mem + "'");
  return bytes;
}

sim::BootOptions boot_options_of(const Options& o, const po::variables_map& vm) {
  sim::BootOptions b;
  b.path = o.image;
  b.format = o.format;
  b.append = o.append;
  b.modules = o.modules;
  b.initrd = o.initrd;
  const std::string formats = " auto linux multiboot pvh elf64 flat ";
  if (o.format.empty() || o.format.find(' ') != std::string::npos ||
      formats.find(" " + o.format + " ") == std::string::npos)
    throw UsageError("--format: unknown format '" + o.format + "' (auto, linux, multiboot, pvh, elf64, flat)");
  for (const char* opt : {"entry-mode", "load-addr", "entry"})
    if (vm.count(opt) && o.format != "flat")
      throw UsageError(std::string("--") + opt + " needs --format flat");
  if (vm.count("entry-mode")) {
    if (o.entry_mode != "real" && o.entry_mode != "prot32" && o.entry_mode != "long")
      throw UsageError("--entry-mode: expected real, prot32 or long, got '" + o.entry_mode + "'");
    b.entry_mode = o.entry_mode;
  }
  b.load_addr = o.load_addr;
  if (vm.count("entry")) b.entry = o.entry;
  for (const std::string& mod : o.modules)
    if (mod.empty() || mod[0] == ' ') throw UsageError("--module: expected 'FILE [ARGS]', got '" + mod + "'");
  if (vm.count("initrd") && o.initrd.empty()) throw UsageError("--initrd: empty file name");
  return b;
}

int run(const Options& o, const po::variables_map& vm, const std::string& command_line) {
  uint64_t ram_bytes = 0;
  sim::BootOptions boot;
  try {
    ram_bytes = ram_bytes_of(o, vm);
    boot = boot_options_of(o, vm);
  } catch (const UsageError& e) {
    std::cerr << "nestsim: " << e.what() << "\n";
    return kExitUsage;
  }
  const sim::CpuModel* model = sim::find_cpu_model(o.cpu_model);
  if (!model) {
    std::cerr << "nestsim: unknown --cpu-model '" << o.cpu_model << "' (see 'nestsim cpu-models')\n";
    return kExitUsage;
  }
  sim::TraceFilter filter;
  sim::TraceRegs regs = sim::TraceRegs::kNone;
  try {
    filter = make_trace_filter(o);
    regs = parse_trace_regs(o.trace_regs);
    if (o.trace.empty())
      for (const char* opt : {"trace-regs", "trace-range", "trace-mode", "trace-start", "trace-count"})
        if (vm.count(opt)) throw UsageError(std::string("--") + opt + " needs --trace FILE");
  } catch (const UsageError& e) {
    std::cerr << "nestsim: " << e.what() << "\n";
    return kExitUsage;
  }

  std::FILE* serial = stdout;
  if (!o.serial_out.empty()) {
    serial = std::fopen(o.serial_out.c_str(), "w");
    if (!serial) {
      std::cerr << "nestsim: --serial-out: cannot open '" << o.serial_out << "'\n";
      return kExitUsage;
    }
  }
  std::FILE* serial_in = nullptr;
  if (!o.serial_in.empty() && o.serial_in != "-") {
    serial_in = std::fopen(o.serial_in.c_str(), "rb");
    if (!serial_in) {
      std::cerr << "nestsim: --serial-in: cannot open '" << o.serial_in << "'\n";
      return kExitUsage;
    }
  } else if (o.serial_in == "-") {
    serial_in = stdin;
  }
  std::FILE* trace_file = nullptr;
  if (!o.trace.empty()) {
    trace_file = o.trace == "-" ? stdout : std::fopen(o.trace.c_str(), "w");
    if (!trace_file) {
      std::cerr << "nestsim: --trace: cannot open '" << o.trace << "'\n";
      return kExitUsage;
    }
  }
  std::unique_ptr<sim::ResultsDb> db;
  if (!o.db.empty()) {
    try {
      db = std::make_unique<sim::ResultsDb>(o.db);
    } catch (const sim::DbError& e) {
      std::cerr << "nestsim: --db: " << e.what() << "\n";
      return kExitUsage;
    }
  }

  sim::MachineConfig cfg;
  cfg.ram_bytes = ram_bytes;
  cfg.model = model;
  cfg.seed = o.seed;
  cfg.serial_out = serial;
  cfg.serial_in = serial_in;
  cfg.serial_interactive = serial_in == stdin;
  cfg.serial_paced = o.serial_paced;
  sim::Machine m(cfg);
  sim::LoadedImage img;
  try {
    img = sim::boot_image(m, boot);
  } catch (const sim::ImageError& e) {
    std::cerr << "nestsim: " << o.image << ": " << e.what() << "\n";
    return kExitUsage;
  }
  std::unique_ptr<sim::Tracer> tracer;
  if (trace_file) {
    tracer = std::make_unique<sim::Tracer>(trace_file, filter, regs);
    tracer->set_kind("dev", o.trace_devices);
    tracer->set_kind("irq", o.trace_devices);
    m.set_tracer(tracer.get());
  }

  sim::StatsRegistry stats;
  sim::RunResult r;
  sim::register_machine_stats(stats, m);
  sim::register_run_stats(stats, r);

  int64_t run_id = 0;
  if (db) {
    sim::RunRecord rec;
    rec.workload_path = o.image;
    rec.workload_name = o.image.substr(o.image.find_last_of('/') + 1);
    rec.workload_format = img.format;
    rec.workload_sha256 = img.sha256;
    rec.workload_size = img.bytes;
    rec.command_line = command_line;
    rec.config = config_of(vm);
    rec.cpu_model = m.model().name;
    try {
      run_id = db->begin_run(rec);
    } catch (const sim::DbError& e) {
      std::cerr << "nestsim: --db: " << e.what() << "\n";
      return kExitUsage;
    }
  }

  sim::RunLimits lim;
  if (o.max_insns) lim.max_insns = o.max_insns;
  if (o.max_cycles) lim.max_cycles = o.max_cycles;
  sim::Progress progress(o.quiet || o.no_progress ? nullptr : stderr, lim.max_insns,
                         lim.max_cycles, core_hz_of(*model));
  g_stop_flag = &m.cpu().stop_request;
  install_signal_handlers();
  auto t0 = std::chrono::steady_clock::now();
  // Slices of simulated cycles: the same run as one call (limits are exact, the run
  // loop keeps no state across calls that matters to the guest).
  // A signal counts only if it stopped the run: one that arrives as the guest
  // finishes, or while the results are written, leaves the run 'completed'.
  bool interrupted = false;
  int signal_number = 0;
  for (;;) {
    sim::RunLimits slice = lim;
    isa::Cpu& c = m.cpu();
    if (!g_signal) {
      slice.max_cycles = std::min<uint64_t>(
          lim.max_cycles, c.cycles + std::min<uint64_t>(kSliceCycles, ~0ull - c.cycles));
      r = m.run(slice);
    }
    const bool at_limit = c.icount >= lim.max_insns || c.cycles >= lim.max_cycles;
    if (r.reason == sim::StopReason::kNone || (r.reason == sim::StopReason::kLimit && !at_limit)) {
      if (g_signal) {  // stopped by the signal, or a slice ended with one pending
        interrupted = true;
        signal_number = int(g_signal);
        break;
      }
      if (r.reason == sim::StopReason::kNone) break;  // cannot happen: a stop has a reason
      progress.update(c.icount, c.cycles);
      continue;
    }
    break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  g_stop_flag = nullptr;
  progress.finish();
  if (tracer) {
    m.set_tracer(nullptr);
    tracer.reset();
    if (trace_file != stdout) std::fclose(trace_file);
  }
  std::fflush(serial);
  if (serial != stdout) std::fclose(serial);
  if (serial_in && serial_in != stdin) std::fclose(serial_in);

  int status = interrupted ? 128 + signal_number : exit_status_of(r);
  const isa::Cpu& c = m.cpu();
  if (!o.quiet) print_summary(o, m, img, r, secs, interrupted ? signal_number : 0);
  if (o.stats) {
    std::fprintf(stderr, "\n--- nestsim statistics (name, value, unit, description) ---\n");
    stats.print(stderr);
  }
  if (db) {
    sim::RunOutcome out;
    out.status = interrupted ? "interrupted" : r.reason == sim::StopReason::kError ? "error" : "completed";
    out.stop_reason = interrupted ? "signal" : sim::stop_reason_name(r.reason);
    if (r.reason == sim::StopReason::kExitDevice) out.exit_value = r.exit_value;
    out.exit_status = status;
    if (r.reason == sim::StopReason::kFault || r.reason == sim::StopReason::kShutdown) {
      out.fault_vector = r.fault.vector;
      out.fault_error = r.fault.error;
      out.fault_rip = r.fault_rip;
    }
    if (interrupted) out.message = std::string("signal ") + std::to_string(signal_number);
    else out.message = r.message;
    out.instructions = c.icount;
    out.cycles = c.cycles;
    out.host_seconds = secs;
    for (const auto& rec : m.platform().report.records)
      out.reports.push_back(sim::ReportRecord{rec.cycle, rec.key, rec.value});
    out.vm_exits = sim::vmx_exit_records(m);
    try {
      db->end_run(run_id, out, stats);
    } catch (const sim::DbError& e) {
      std::cerr << "nestsim: --db: results not written: " << e.what() << "\n";
      return kExitInternal;
    }
    if (!o.quiet) std::fprintf(stderr, "results        run %lld in %s\n", (long long)run_id, o.db.c_str());
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  po::options_description opts = make_options(o);
  po::options_description hidden;
  hidden.add_options()("command", po::value(&o.command))("image", po::value(&o.image));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("image", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    if (vm.count("config")) {
      std::string path = vm["config"].as<std::string>();
      std::ifstream f(path);
      if (!f) {
        std::cerr << "nestsim: --config: cannot open '" << path << "'\n";
        return kExitUsage;
      }
      try {
        po::store(po::parse_config_file(f, opts), vm);
      } catch (const po::error& e) {
        std::cerr << "nestsim: --config " << path << ": " << e.what() << "\n";
        return kExitUsage;
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "nestsim: " << e.what() << " (try 'nestsim --help')\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    usage(std::cout, opts);
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "nestsim " << NESTSIM_VERSION << "\n";
    return 0;
  }
  if (o.command == "cpu-models") {
    for (const sim::CpuModel* m : sim::cpu_models())
      std::cout << m->name << "\t" << m->description << "\n";
    return 0;
  }
  if (o.command != "run") {
    if (o.command.empty()) usage(std::cerr, opts);
    else std::cerr << "nestsim: unknown command '" << o.command << "' (try 'nestsim --help')\n";
    return kExitUsage;
  }
  if (o.image.empty()) {
    std::cerr << "nestsim: run: missing IMAGE (try 'nestsim --help')\n";
    return kExitUsage;
  }
  std::string command_line;
  for (int i = 0; i < argc; i++) command_line += (i ? " " : "") + shell_quote(argv[i]);
  try {
    return run(o, vm, command_line);
  } catch (const std::bad_alloc&) {
    std::cerr << "nestsim: out of host memory (is --ram/--mem too large?)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "nestsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
