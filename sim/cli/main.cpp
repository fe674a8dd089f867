// nestsim command line. Exit status:
//   0                 the guest powered off, halted, or a run limit was reached
//   (v << 1) | 1      the guest wrote v to the exit device at port 0xF4 (QEMU convention)
//   2                 bad command line, configuration or image (one line on stderr)
//   4                 the guest ended with an unhandled exception
//   6                 internal error
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "isa/bind.h"
#include "sim/loader.h"
#include "sim/machine.h"
#include "sim/version.h"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitGuestFault = 4;
constexpr int kExitInternal = 6;

void usage(std::ostream& os, const po::options_description& opts) {
  os << "usage: nestsim run IMAGE [options]\n"
        "       nestsim cpu-models\n"
        "       nestsim --help | --version\n\n"
        "Runs IMAGE (an ELF64 executable) on the simulated machine, prints what the guest\n"
        "writes to COM1, then the run's statistics on stderr.\n\n"
     << opts << "\nExit status: 0 guest done (power-off, HLT, limit); (v<<1)|1 when the guest\n"
        "writes v to port 0xF4; 2 bad input; 4 unhandled guest exception; 6 internal error.\n";
}

struct Options {
  std::string command, image, config, serial_out, cpu_model = "server";
  uint64_t ram_mib = 128, max_insns = 0, max_cycles = 0, seed = 0;
  bool quiet = false;
};

po::options_description make_options(Options& o) {
  po::options_description d("Options");
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config", po::value(&o.config)->value_name("FILE"),
       "read options from FILE (one 'name = value' per line, same names as here)")
      ("ram", po::value(&o.ram_mib)->value_name("MiB")->default_value(128),
       "guest RAM size in MiB (1..65536)")
      ("cpu-model", po::value(&o.cpu_model)->value_name("NAME")->default_value("server"),
       "CPU model (see 'nestsim cpu-models')")
      ("max-insns", po::value(&o.max_insns)->value_name("N"),
       "stop after N retired instructions (exact; a REP string retires when it completes, so bound long runs with --max-cycles too)")
      ("max-cycles", po::value(&o.max_cycles)->value_name("N"),
       "stop after N simulated cycles (checked between blocks)")
      ("seed", po::value(&o.seed)->value_name("N")->default_value(0),
       "seed of the RDRAND/RDSEED stream (runs are deterministic per seed)")
      ("serial-out", po::value(&o.serial_out)->value_name("FILE"),
       "write guest COM1 output to FILE instead of stdout")
      ("quiet,q", po::bool_switch(&o.quiet), "do not print run statistics");
  return d;
}

int run(const Options& o) {
  if (o.ram_mib < 1 || o.ram_mib > 65536) {
    std::cerr << "nestsim: --ram must be between 1 and 65536 MiB (got " << o.ram_mib << ")\n";
    return kExitUsage;
  }
  const sim::CpuModel* model = sim::find_cpu_model(o.cpu_model);
  if (!model) {
    std::cerr << "nestsim: unknown --cpu-model '" << o.cpu_model << "' (see 'nestsim cpu-models')\n";
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
  sim::MachineConfig cfg;
  cfg.ram_bytes = o.ram_mib << 20;
  cfg.model = model;
  cfg.seed = o.seed;
  cfg.serial_out = serial;
  sim::Machine m(cfg);
  sim::LoadedImage img;
  try {
    img = sim::load_image(m, o.image);
  } catch (const sim::ImageError& e) {
    std::cerr << "nestsim: " << o.image << ": " << e.what() << "\n";
    return kExitUsage;
  }
  sim::RunLimits lim;
  if (o.max_insns) lim.max_insns = o.max_insns;
  if (o.max_cycles) lim.max_cycles = o.max_cycles;
  auto t0 = std::chrono::steady_clock::now();
  sim::RunResult r = m.run(lim);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fflush(serial);
  if (serial != stdout) std::fclose(serial);

  const isa::Cpu& c = m.cpu();
  if (!o.quiet) {
    std::fprintf(stderr, "\n--- nestsim run statistics ---\n");
    std::fprintf(stderr, "image          %s (%s, sha256 %.16s...)\n", o.image.c_str(),
                 img.format.c_str(), img.sha256.c_str());
    std::fprintf(stderr, "cpu model      %s\n", m.model().name);
    std::fprintf(stderr, "stop reason    %s", sim::stop_reason_name(r.reason));
    if (r.reason == sim::StopReason::kExitDevice) std::fprintf(stderr, " (value %u)", r.exit_value);
    if (r.reason == sim::StopReason::kFault)
      std::fprintf(stderr, " (%s, error code 0x%x, at rip 0x%llx)", isa::vector_name(r.fault.vector),
                   r.fault.error, (unsigned long long)r.fault_rip);
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
  switch (r.reason) {
    case sim::StopReason::kExitDevice: return int(((r.exit_value << 1) | 1) & 0xFF);
    case sim::StopReason::kFault: return kExitGuestFault;
    case sim::StopReason::kError: return kExitInternal;
    default: return 0;
  }
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
      po::store(po::parse_config_file(f, opts), vm);
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
  try {
    return run(o);
  } catch (const std::bad_alloc&) {
    std::cerr << "nestsim: out of host memory (is --ram too large?)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "nestsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
