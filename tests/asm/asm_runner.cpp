// asm_runner: runs self-describing assembly tests (tests/asm/README.md has the format).
//
//   asm_runner [--include DIR]... [--verbose] TEST.asm [TEST.asm...]
//
// Each .asm is assembled here with nasm (with a symbol map, so expectations can name
// labels as @label); CMake also assembles every registered test at build time so that
// a broken test fails the build early.
// `irq:` / `nmi:` directives inject external interrupts and NMIs through a test-only
// interrupt controller (sim/interrupts.h) and Machine::raise_nmi().
// Exit status 0 when every test passes, 1 otherwise; each failure prints a precise
// diff of the expectations that did not hold and a dump of the final state.
#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "isa/system.h"
#include "sim/loader.h"
#include "sim/machine.h"

namespace {

// An external event the runner injects (directives `irq:` and `nmi:`): at an instruction
// count, or at the K-th instruction boundary where RIP equals a label.
struct Injection {
  bool nmi = false;
  uint8_t vector = 0;
  std::optional<uint64_t> icount;  // "at N"
  std::string label;               // "at @label" / "at @label#K"
  uint64_t addr = 0;               // the label's address, once assembled
  uint64_t occurrence = 1;
  uint64_t seen = 0;
  bool fired = false;
};

struct Spec {
  std::string start = "long64";  // real | prot32 | long64
  uint64_t load = 0x100000;
  std::optional<uint64_t> stack;
  uint64_t ram = 16ull << 20;
  uint64_t max_insns = 1000000;
  std::string stop = "halted";
  std::vector<std::string> init, expect;  // "lhs=value" terms
  std::vector<Injection> inject;
};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Symbols of the test being run (nasm map file): "@label" in a value means its address.
std::map<std::string, uint64_t> g_symbols;

uint64_t parse_num(std::string s);

uint64_t symbol_value(const std::string& expr) {
  size_t op = expr.find_first_of("+-", 1);
  std::string name = expr.substr(1, op == std::string::npos ? std::string::npos : op - 1);
  auto it = g_symbols.find(name);
  if (it == g_symbols.end()) throw std::runtime_error("unknown symbol '@" + name + "'");
  if (op == std::string::npos) return it->second;
  uint64_t off = parse_num(expr.substr(op + 1));
  return expr[op] == '+' ? it->second + off : it->second - off;
}

// C-style number (0x.., decimal, optional '_' separators, optional leading '-', K/M/G
// suffix for sizes).
uint64_t parse_num(std::string s) {
  if (!s.empty() && s[0] == '@') return symbol_value(s);
  std::string t;
  for (char ch : s)
    if (ch != '_') t += ch;
  bool neg = !t.empty() && t[0] == '-';
  if (neg) t = t.substr(1);
  uint64_t mult = 1;
  if (!t.empty() && (t.back() == 'K' || t.back() == 'M' || t.back() == 'G') &&
      t.compare(0, 2, "0x") != 0) {
    mult = t.back() == 'K' ? 1ull << 10 : t.back() == 'M' ? 1ull << 20 : 1ull << 30;
    t.pop_back();
  }
  char* end = nullptr;
  if (t.empty()) throw std::runtime_error("bad number '" + s + "'");
  uint64_t v = std::strtoull(t.c_str(), &end, 0);
  if (*end) throw std::runtime_error("bad number '" + s + "'");
  v *= mult;
  return neg ? 0 - v : v;
}

// "VECTOR at WHEN" (irq) or "at WHEN" (nmi); WHEN is an instruction count or @label[#K].
// Labels resolve when the test runs (after assembly), so they are kept as text here.
Injection parse_injection(bool nmi, const std::string& val) {
  Injection in;
  in.nmi = nmi;
  std::string rest = val;
  if (!nmi) {
    size_t sp = rest.find(' ');
    if (sp == std::string::npos) throw std::runtime_error("expected 'VECTOR at WHEN'");
    uint64_t v = parse_num(rest.substr(0, sp));
    if (v < 32 || v > 255) throw std::runtime_error("irq vector must be 32-255");
    in.vector = uint8_t(v);
    rest = trim(rest.substr(sp + 1));
  }
  if (rest.rfind("at ", 0) != 0) throw std::runtime_error("expected 'at WHEN'");
  std::string when = trim(rest.substr(3));
  if (when.empty()) throw std::runtime_error("expected 'at WHEN'");
  if (when[0] == '@') {
    size_t hash = when.find('#');
    in.label = when.substr(0, hash);
    if (hash != std::string::npos) in.occurrence = parse_num(when.substr(hash + 1));
    if (in.occurrence == 0) throw std::runtime_error("occurrences count from 1");
  } else {
    in.icount = parse_num(when);
  }
  return in;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Header directives: comment lines "; key: value" anywhere in the file.
Spec parse_spec(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  Spec s;
  std::string line;
  unsigned n = 0;
  while (std::getline(f, line)) {
    n++;
    std::string l = trim(line);
    if (l.empty() || l[0] != ';') continue;
    l = trim(l.substr(1));
    size_t colon = l.find(':');
    if (colon == std::string::npos) continue;
    std::string key = trim(l.substr(0, colon)), val = trim(l.substr(colon + 1));
    // " --" starts a comment after a directive's value.
    size_t dash = val.find(" --");
    if (dash != std::string::npos) val = trim(val.substr(0, dash));
    auto where = [&] { return path + ":" + std::to_string(n) + ": "; };
    try {
      if (key == "start") {
        if (val != "real" && val != "prot32" && val != "long64")
          throw std::runtime_error("start must be real, prot32 or long64");
        s.start = val;
      } else if (key == "load") s.load = parse_num(val);
      else if (key == "stack") s.stack = parse_num(val);
      else if (key == "ram") s.ram = parse_num(val);
      else if (key == "max-insns") s.max_insns = parse_num(val);
      else if (key == "expect-stop") s.stop = val;
      else if (key == "expect") for (auto& w : words(val)) s.expect.push_back(w);
      else if (key == "init") for (auto& w : words(val)) s.init.push_back(w);
      else if (key == "irq") s.inject.push_back(parse_injection(false, val));
      else if (key == "nmi") s.inject.push_back(parse_injection(true, val));
      else if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string::npos)
        throw std::runtime_error("unknown directive '" + key + "'");  // lowercase: a typo
    } catch (const std::exception& e) {
      throw std::runtime_error(where() + e.what());
    }
  }
  if (s.start == "real" && s.load > 0xFFFF)
    throw std::runtime_error(path + ": real-mode tests load below 0x10000 (CS=0)");
  return s;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

bool is_hex(const std::string& w) {
  return !w.empty() && w.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// Assembles `src` with nasm through a wrapper that asks for a symbol map, and fills
// g_symbols from it (section symbols by virtual address, constants by value).
std::vector<uint8_t> assemble(const std::string& src, const std::vector<std::string>& incs) {
  char dir[] = "/tmp/nestsim-asmtest-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  std::string d = dir, out = d + "/t.bin", log = d + "/log", map = d + "/t.map",
              wrap = d + "/w.asm";
  char abs_src[4096];
  if (!realpath(src.c_str(), abs_src)) throw std::runtime_error("cannot read " + src);
  { std::ofstream(wrap) << "[map symbols " << map << "]\n%include \"" << abs_src << "\"\n"; }
  std::string cmd = "nasm -f bin -w+all";
  for (auto& i : incs) cmd += " -I " + i + "/";
  cmd += " -o " + out + " " + wrap + " 2>" + log;
  int rc = std::system(cmd.c_str());
  std::vector<uint8_t> bytes;
  g_symbols.clear();
  if (rc == 0) {
    bytes = read_bytes(out);
    std::ifstream mf(map);
    for (std::string line; std::getline(mf, line);) {
      // "Real Virtual Name" rows of sections, "Value Name" rows of constants.
      auto w = words(line);
      if (w.size() == 3 && is_hex(w[0]) && is_hex(w[1]))
        g_symbols[w[2]] = std::strtoull(w[1].c_str(), nullptr, 16);
      else if (w.size() == 2 && is_hex(w[0]))
        g_symbols[w[1]] = std::strtoull(w[0].c_str(), nullptr, 16);
    }
  }
  std::ifstream lf(log);
  std::string msg((std::istreambuf_iterator<char>(lf)), {});
  std::system(("rm -rf " + d).c_str());
  if (rc != 0) throw std::runtime_error("nasm failed on " + src + ":\n" + msg);
  return bytes;
}

// The interrupt controller of `irq:` directives: raised vectors wait in FIFO order
// until the CPU acknowledges them (edge-triggered, no priorities, no EOI).
class TestController final : public sim::InterruptController {
 public:
  std::vector<uint8_t> pending;
  uint64_t acks = 0;
  bool intr_pending() override { return !pending.empty(); }
  uint8_t acknowledge() override {
    uint8_t v = pending.front();
    pending.erase(pending.begin());
    acks++;
    return v;
  }
};
TestController* g_intc = nullptr;

const char* mode_name(const isa::Cpu& c) {
  if (!(c.cr0 & 1)) return "real";
  if (c.rflags & isa::FLAG_VM) return "v86";
  if (c.long64) return "long64";
  if (c.efer & (1u << 10)) return "compat";
  return (c.seg[isa::CS].attr & 0x4000) ? "prot32" : "prot16";
}

const char* const kGpr[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                              "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

int gpr_index(const std::string& n) {
  for (int i = 0; i < 16; i++)
    if (n == kGpr[i]) return i;
  return -1;
}

uint64_t ram64(sim::Machine& m, uint64_t pa) {
  if (pa + 8 > m.mem().ram_size()) throw std::runtime_error("address beyond RAM");
  uint64_t v;
  std::memcpy(&v, m.mem().ram() + pa, 8);
  return v;
}

// Reads the value an expectation's left-hand side names. Mode names compare as
// strings, so they are handled by the caller. Throws on an unknown name.
uint64_t read_lhs(sim::Machine& m, const std::string& lhs) {
  isa::Cpu& c = m.cpu();
  if (int g = gpr_index(lhs); g >= 0) return c.r[g];
  if (lhs == "rip") return c.rip();
  if (lhs == "rflags") return c.get_rflags();
  if (lhs == "cr0") return c.cr0;
  if (lhs == "cr2") return c.cr2;
  if (lhs == "cr3") return c.cr3;
  if (lhs == "cr4") return c.cr4;
  if (lhs == "cr8") return c.cr8;
  if (lhs == "efer") return c.efer;
  if (lhs == "xcr0") return c.xcr0;
  if (lhs == "cpl") return c.cpl;
  if (lhs.size() == 3 && lhs[0] == 'd' && lhs[1] == 'r' && lhs[2] >= '0' && lhs[2] <= '7')
    return c.dr[lhs[2] - '0'];
  if (lhs == "gdtr.base") return c.gdtr.base;
  if (lhs == "gdtr.limit") return c.gdtr.limit;
  if (lhs == "idtr.base") return c.idtr.base;
  if (lhs == "idtr.limit") return c.idtr.limit;
  if (lhs == "nmi_blocked") return c.ev.nmi_blocked;
  if (lhs == "shadow") return c.ev.shadow;
  if (lhs == "exceptions" || lhs.rfind("exceptions[", 0) == 0) {
    if (lhs == "exceptions") {
      uint64_t t = 0;
      for (auto e : c.sys.exceptions) t += e;
      return t;
    }
    uint64_t v = parse_num(lhs.substr(11, lhs.size() - 12));
    if (v >= 32) throw std::runtime_error("exceptions[] index out of range");
    return c.sys.exceptions[v];
  }
  // The exception log of include/exc*.inc: exc.count, exc[N].vector|error|rip|cs|rflags|
  // rsp|ss|cr2 (64-bit fields of 64-byte entries at 0x8000, count at 0x7FF8).
  if (lhs == "exc.count") return ram64(m, 0x7FF8);
  if (lhs.rfind("exc[", 0) == 0) {
    size_t close = lhs.find("].");
    if (close == std::string::npos) throw std::runtime_error("expected exc[N].field");
    uint64_t n = parse_num(lhs.substr(4, close - 4));
    std::string f = lhs.substr(close + 2);
    static const char* const fields[8] = {"vector", "error", "rip", "cs",
                                          "rflags", "rsp",   "ss",  "cr2"};
    for (unsigned i = 0; i < 8; i++)
      if (f == fields[i] && n < 64) return ram64(m, 0x8000 + n * 64 + i * 8);
    throw std::runtime_error("bad exception-log field '" + lhs + "'");
  }
  if (lhs == "double_faults") return c.sys.double_faults;
  if (lhs == "triple_faults") return c.sys.triple_faults;
  if (lhs == "icount") return c.icount;
  if (lhs == "irq.acks") return g_intc ? g_intc->acks : 0;
  if (lhs == "irq.pending") return g_intc ? g_intc->pending.size() : 0;
  // Segments: "cs" (selector), "cs.base", "cs.limit", "cs.attr"; also ldtr/tr.
  std::string seg = lhs.substr(0, lhs.find('.'));
  std::string field = lhs.find('.') == std::string::npos ? "" : lhs.substr(lhs.find('.') + 1);
  const isa::SegmentReg* sr = nullptr;
  for (int i = 0; i < 6; i++)
    if (seg == kSeg[i]) sr = &c.seg[i];
  if (seg == "ldtr") sr = &c.ldtr;
  if (seg == "tr") sr = &c.tr;
  if (sr) {
    if (field.empty() || field == "sel") return sr->selector;
    if (field == "base") return sr->base;
    if (field == "limit") return sr->limit;
    if (field == "attr") return sr->attr;
  }
  // mem8[pa] .. mem64[pa]: physical memory.
  for (unsigned bits : {8u, 16u, 32u, 64u}) {
    std::string p = "mem" + std::to_string(bits) + "[";
    if (lhs.rfind(p, 0) == 0 && lhs.back() == ']') {
      uint64_t pa = parse_num(lhs.substr(p.size(), lhs.size() - p.size() - 1));
      if (pa + bits / 8 > m.mem().ram_size()) throw std::runtime_error("address beyond RAM");
      uint64_t v = 0;
      std::memcpy(&v, m.mem().ram() + pa, bits / 8);
      return v;
    }
  }
  if (lhs.rfind("msr[", 0) == 0 && lhs.back() == ']') {
    uint32_t idx = uint32_t(parse_num(lhs.substr(4, lhs.size() - 5)));
    try {
      return isa::read_msr(c, idx);
    } catch (const isa::CpuFault&) {
      throw std::runtime_error("RDMSR faults");
    }
  }
  throw std::runtime_error("unknown name '" + lhs + "'");
}

struct Term {
  std::string lhs;
  std::optional<uint64_t> mask;
  std::string rhs;
};

Term split_term(const std::string& t) {
  size_t eq = t.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == t.size())
    throw std::runtime_error("term '" + t + "' is not lhs=value");
  Term r;
  r.lhs = t.substr(0, eq);
  r.rhs = t.substr(eq + 1);
  size_t amp = r.lhs.find('&');
  if (amp != std::string::npos) {
    r.mask = parse_num(r.lhs.substr(amp + 1));
    r.lhs = r.lhs.substr(0, amp);
  }
  return r;
}

void apply_init(sim::Machine& m, const std::string& t) {
  Term term = split_term(t);
  int g = gpr_index(term.lhs);
  if (g < 0 || term.mask) throw std::runtime_error("init: only plain GPRs may be set: " + t);
  m.cpu().r[g] = parse_num(term.rhs);
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string describe_stop(const sim::RunResult& r) {
  switch (r.reason) {
    case sim::StopReason::kExitDevice: return "exit:" + std::to_string(r.exit_value);
    case sim::StopReason::kFault: {
      std::string s = std::string("fault:") + isa::vector_name(r.fault.vector);
      if (r.fault.has_error) s += "(" + hex(r.fault.error) + ")";
      return s;
    }
    default: return sim::stop_reason_name(r.reason);
  }
}

// "fault:#GP(0)" matches a #GP with error 0; "fault:#GP" any #GP; "exit:N" the value.
bool stop_matches(const std::string& want, const sim::RunResult& r) {
  std::string got = describe_stop(r);
  if (want.rfind("fault:", 0) == 0 && r.reason == sim::StopReason::kFault) {
    std::string w = want;
    size_t paren = w.find('(');
    std::string wname = w.substr(0, paren);
    std::string gname = got.substr(0, got.find('('));
    if (wname != gname) return false;
    if (paren == std::string::npos) return true;
    return r.fault.has_error &&
           parse_num(w.substr(paren + 1, w.size() - paren - 2)) == r.fault.error;
  }
  if (want.rfind("exit:", 0) == 0 && r.reason == sim::StopReason::kExitDevice)
    return parse_num(want.substr(5)) == r.exit_value;
  return want == got;
}

void dump_state(sim::Machine& m, std::FILE* out) {
  isa::Cpu& c = m.cpu();
  std::fprintf(out, "  state: mode=%s cpl=%u rip=%s rflags=%s icount=%" PRIu64 "\n", mode_name(c),
               c.cpl, hex(c.rip()).c_str(), hex(c.get_rflags()).c_str(), c.icount);
  for (int i = 0; i < 16; i++)
    std::fprintf(out, "%s%-3s=%-18s", i % 4 == 0 ? "  " : " ", kGpr[i], hex(c.r[i]).c_str()),
        std::fputs(i % 4 == 3 ? "\n" : "", out);
  std::fprintf(out, "  cr0=%s cr2=%s cr3=%s cr4=%s efer=%s\n", hex(c.cr0).c_str(),
               hex(c.cr2).c_str(), hex(c.cr3).c_str(), hex(c.cr4).c_str(), hex(c.efer).c_str());
  for (int i = 0; i < 6; i++)
    std::fprintf(out, "  %s=%04x base=%s limit=%s attr=%04x\n", kSeg[i], c.seg[i].selector,
                 hex(c.seg[i].base).c_str(), hex(c.seg[i].limit).c_str(), c.seg[i].attr);
  std::fprintf(out, "  tr=%04x ldtr=%04x gdtr=%s/%s idtr=%s/%s\n", c.tr.selector,
               c.ldtr.selector, hex(c.gdtr.base).c_str(), hex(c.gdtr.limit).c_str(),
               hex(c.idtr.base).c_str(), hex(c.idtr.limit).c_str());
}

// "irq 0x30 at @label#2", "nmi at 5000": an injection as its directive wrote it.
std::string describe_injection(const Injection& in) {
  std::string when = in.icount ? std::to_string(*in.icount) : in.label;
  if (!in.icount && in.occurrence > 1) when += "#" + std::to_string(in.occurrence);
  return (in.nmi ? std::string("nmi") : "irq " + hex(in.vector)) + " at " + when;
}

// The linear address of the next instruction (labels are linear addresses: v8086 and
// 16-bit code may run with a nonzero CS base).
uint64_t linear_pc(isa::Cpu& c) { return c.long64 ? c.rip() : c.seg[isa::CS].base + c.rip(); }

// Runs the machine, injecting the spec's events. Events at an instruction count stop
// the run there; while an event waits for a label, the machine runs one instruction
// (or one chunk of a repeated string) per call so that every boundary is seen. An
// event fires at the boundary (before the instruction at RIP), so a CPU halted by HLT
// sees it as arriving during the halt, with RIP after the HLT.
sim::RunResult run_with_injections(sim::Machine& m, Spec& s, TestController& intc) {
  isa::Cpu& c = m.cpu();
  uint64_t last_icount = ~0ull, last_cycles = ~0ull;
  for (;;) {
    bool by_label = false;
    uint64_t stop_at = s.max_insns;
    for (auto& in : s.inject) {
      if (in.fired) continue;
      if (in.icount) stop_at = std::min(stop_at, *in.icount);
      else by_label = true;
    }
    // Fire what is due at this boundary (a boundary counts once per label).
    bool fired = false;
    const bool new_boundary = c.icount != last_icount || c.cycles != last_cycles;
    last_icount = c.icount;
    last_cycles = c.cycles;
    for (auto& in : s.inject) {
      if (in.fired) continue;
      bool due = false;
      if (in.icount) due = c.icount >= *in.icount;
      else if (new_boundary && linear_pc(c) == in.addr)
        due = ++in.seen == in.occurrence;
      if (!due) continue;
      in.fired = fired = true;
      if (in.nmi) {
        m.raise_nmi();
      } else {
        intc.pending.push_back(in.vector);
        m.interrupt_changed();
      }
    }
    if (fired) continue;  // recompute the limits
    sim::RunLimits lim;
    lim.max_insns = stop_at;
    if (by_label) {
      lim.max_insns = std::min(stop_at, c.icount + 1);
      lim.max_cycles = c.cycles + 1;
    }
    sim::RunResult res = m.run(lim);
    if (res.reason != sim::StopReason::kLimit && res.reason != sim::StopReason::kHalted)
      return res;
    if (c.icount >= s.max_insns) return res;
    // A run that made no progress (halted for good, or nothing left to do before an
    // unreachable event) ends here; otherwise the next iteration looks at the boundary.
    if (c.icount == last_icount && c.cycles == last_cycles) return res;
  }
}

// Runs one test; returns true on pass. Prints one PASS line or a FAIL report.
bool run_test(const std::string& asm_path, const std::vector<uint8_t>& image, bool verbose) {
  Spec s = parse_spec(asm_path);
  sim::MachineConfig cfg;
  cfg.ram_bytes = s.ram;
  cfg.serial_out = stdout;
  sim::Machine m(cfg);
  if (s.load + image.size() > s.ram)
    throw std::runtime_error(asm_path + ": image does not fit in RAM at the load address");
  if (s.start == "real") {
    m.reset_real_mode(uint16_t(s.load), uint16_t(s.stack.value_or(0x7000)));
  } else if (s.start == "prot32") {
    m.reset_protected32(uint32_t(s.load), uint32_t(s.stack.value_or(0x80000)));
  } else {
    if (s.load < sim::kLoaderTablesEnd)
      throw std::runtime_error(asm_path + ": long64 tests load above the loader's tables (0x3000)");
    m.reset_long_mode(s.load, s.stack.value_or(0x80000));
  }
  // Loaded after the reset: reset_long_mode writes its page tables into RAM.
  std::memcpy(m.mem().ram() + s.load, image.data(), image.size());
  for (auto& t : s.init) apply_init(m, t);

  TestController intc;
  g_intc = &intc;
  struct ClearIntc {
    ~ClearIntc() { g_intc = nullptr; }
  } clear_intc;  // intc dies with this call
  if (!s.inject.empty()) m.set_interrupt_controller(&intc);
  for (auto& in : s.inject)
    if (!in.label.empty()) in.addr = symbol_value(in.label);
  sim::RunResult res = run_with_injections(m, s, intc);

  std::vector<std::string> diffs;
  // An injected event that never fired means the test did not check what it meant to.
  for (auto& in : s.inject)
    if (!in.fired) diffs.push_back(describe_injection(in) + ": never fired");
  if (!stop_matches(s.stop, res)) {
    std::string got = describe_stop(res);
    if (res.reason == sim::StopReason::kFault) got += " at rip " + hex(res.fault_rip);
    if (!res.message.empty()) got += " (" + res.message + ")";
    diffs.push_back("stop: expected " + s.stop + ", got " + got);
  }
  for (auto& t : s.expect) {
    Term term = split_term(t);
    if (term.lhs == "mode") {
      std::string got = mode_name(m.cpu());
      if (got != term.rhs) diffs.push_back("mode: expected " + term.rhs + ", got " + got);
      continue;
    }
    uint64_t want, got;
    try {
      got = read_lhs(m, term.lhs);
      // The value is a number, @label[+-n], or another name (mem32[@slot], rax...).
      bool name = std::isalpha(static_cast<unsigned char>(term.rhs[0]));
      want = name ? read_lhs(m, term.rhs) : parse_num(term.rhs);
    } catch (const std::exception& e) {
      diffs.push_back(t + ": " + e.what());
      continue;
    }
    uint64_t mask = term.mask.value_or(~0ull);
    if ((got & mask) != (want & mask)) {
      std::string name = term.lhs + (term.mask ? "&" + hex(mask) : "");
      diffs.push_back(name + ": expected " + hex(want & mask) + ", got " + hex(got & mask) +
                      (term.mask ? " (full " + hex(got) + ")" : ""));
    }
  }
  if (diffs.empty()) {
    std::printf("PASS %s (%" PRIu64 " insns, %" PRIu64 " cycles)\n", asm_path.c_str(),
                m.cpu().icount, m.cpu().cycles);
    if (verbose) dump_state(m, stdout);
    return true;
  }
  std::printf("FAIL %s\n", asm_path.c_str());
  for (auto& d : diffs) std::printf("  %s\n", d.c_str());
  dump_state(m, stdout);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> incs, tests;
  bool verbose = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--include" && i + 1 < argc) incs.push_back(argv[++i]);
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--help" || a == "-h") {
      std::printf("usage: asm_runner [--include DIR]... [-v] TEST.asm...\n");
      return 0;
    } else tests.push_back(a);
  }
  if (tests.empty()) {
    std::fprintf(stderr, "usage: asm_runner [--include DIR]... [-v] TEST.asm...\n");
    return 2;
  }
  if (incs.empty()) incs.push_back(NESTSIM_ASM_INCLUDE_DIR);
  unsigned failed = 0;
  for (auto& t : tests) {
    try {
      std::vector<uint8_t> img = assemble(t, incs);
      if (!run_test(t, img, verbose)) failed++;
    } catch (const std::exception& e) {
      std::printf("FAIL %s\n  error: %s\n", t.c_str(), e.what());
      failed++;
    }
  }
  if (tests.size() > 1) std::printf("%zu tests, %u failed\n", tests.size(), failed);
  return failed ? 1 : 0;
}
