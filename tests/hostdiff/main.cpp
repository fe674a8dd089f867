// nestsim-hostdiff: runs the host differential harness (hostdiff.h) and prints
// mismatches and a summary line "N forms covered, M cases compared, K mismatches".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/hostdiff/hostdiff.h"

static void usage() {
  std::fprintf(stderr,
               "usage: nestsim-hostdiff [--seed N] [--cases-per-form N] [--form NAME]\n"
               "                        [--group int|x87|sse|avx] [--max-print N] [--verbose] [--list-uncovered]\n");
}

int main(int argc, char** argv) {
  hostdiff::Options o;
  bool list = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nestsim-hostdiff: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed") o.seed = std::strtoull(value(), nullptr, 0);
    else if (a == "--cases-per-form") o.cases_per_form = unsigned(std::strtoul(value(), nullptr, 0));
    else if (a == "--form") o.form = value();
    else if (a == "--group") o.group = value();
    else if (a == "--max-print") o.max_print = unsigned(std::strtoul(value(), nullptr, 0));
    else if (a == "--verbose") o.verbose = true;
    else if (a == "--list-uncovered") list = true;
    else if (a == "--help" || a == "-h") { usage(); return 0; }
    else {
      std::fprintf(stderr, "nestsim-hostdiff: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  hostdiff::Summary s = hostdiff::run(o);
  if (list)
    for (const std::string& n : s.not_covered) std::printf("not covered: %s\n", n.c_str());
  std::printf("%u forms covered, %llu cases compared, %llu mismatches", s.forms_covered(),
              (unsigned long long)s.cases, (unsigned long long)s.mismatches);
  if (s.host_mapped)
    std::printf(" (%llu not comparable: address mapped only in the host)",
                (unsigned long long)s.host_mapped);
  std::printf("\n");
  return s.mismatches ? 1 : 0;
}
