// Exit ports, POST port, pc-testdev, fw_cfg and the report channel.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "sim/dev/misc.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

TEST_CASE("exit ports: isa-debug-exit stops with the value written, any size", "[misc]") {
  test::DevRig rig;
  std::vector<std::pair<bool, uint32_t>> stops;
  ExitPorts e(rig.ctx, [&](bool off, uint32_t v) { stops.push_back({off, v}); });
  e.port_out(0xF4, 1, 0);
  e.port_out(0xF4, 4, 0x12345678);
  e.port_out(0xF4, 2, 38);
  e.port_out(0xF6, 1, 1);
  REQUIRE(stops.size() == 4);
  CHECK(stops[0] == std::make_pair(false, 0u));
  CHECK(stops[1] == std::make_pair(false, 0x12345678u));
  CHECK(stops[2] == std::make_pair(false, 38u));
  CHECK(stops[3] == std::make_pair(false, 1u));
  CHECK(e.port_in(0xF4, 1) == 0xFF);
  CHECK(e.port_in(0xF4, 4) == 0xFFFFFFFF);
  CHECK(e.writes(ExitPorts::kDebugExit) == 4);
  CHECK(e.reg_names()[ExitPorts::kShutdown] == "shutdown");
}

TEST_CASE("exit ports: \"Shutdown\" at 0x8900 powers off", "[misc]") {
  test::DevRig rig;
  int offs = 0;
  ExitPorts e(rig.ctx, [&](bool off, uint32_t v) {
    CHECK(off);
    CHECK(v == 0);
    offs++;
  });
  auto say = [&](std::string_view s) {
    for (char c : s) e.port_out(0x8900, 1, uint8_t(c));
  };
  say("Shutdow");
  CHECK(offs == 0);
  say("x");  // a wrong byte restarts the match
  say("n");
  CHECK(offs == 0);
  say("ShutShutdown");  // restart at an 'S'
  CHECK(offs == 1);
  say("Shutdown");
  CHECK(offs == 2);
  e.port_out(0x8900, 2, 'S' | ('h' << 8));  // only the low byte is at 0x8900
  say("utdown");
  CHECK(offs == 2);
  say("Shut");
  e.reset();
  say("down");
  CHECK(offs == 2);
  CHECK(e.writes(ExitPorts::kShutdown) == 7 + 1 + 1 + 12 + 8 + 1 + 6 + 4 + 4);
}

TEST_CASE("POST port keeps the last code and reads all-ones", "[misc]") {
  test::DevRig rig;
  PostPort p(rig.ctx);
  p.port_out(0x80, 1, 0x42);
  CHECK(p.last == 0x42);
  p.port_out(0x80, 2, 0x1234);
  CHECK(p.last == 0x34);
  CHECK(p.port_in(0x80, 1) == 0xFF);
  CHECK(p.port_in(0x80, 2) == 0xFFFF);
  CHECK(p.writes(0) == 2);
}

TEST_CASE("pc-testdev: the 0xE0 latch merges byte lanes", "[misc]") {
  test::DevRig rig;
  PcTestDev t(rig.ctx);
  t.port_out(0xE0, 4, 0x11223344);
  CHECK(t.port_in(0xE0, 4) == 0x11223344);
  t.port_out(0xE1, 1, 0xAA);
  CHECK(t.port_in(0xE0, 4) == 0x1122AA44);
  t.port_out(0xE2, 2, 0xBBCC);
  CHECK(t.port_in(0xE0, 4) == 0xBBCCAA44);
  CHECK(t.port_in(0xE3, 1) == 0xBB);
  CHECK(t.port_in(0xE2, 2) == 0xBBCC);
  CHECK(t.port_in(0xE1, 2) == 0xCCAA);
  CHECK(t.port_in(0xE3, 2) == 0xBB);  // lane 4 does not exist
  t.port_out(0xE3, 4, 0x99887766);    // only lane 3 takes a byte
  CHECK(t.latch() == 0x66CCAA44);
  // 0xE8-0xEB is the same latch through byte-wide accesses.
  CHECK(t.port_in(0xE8, 4) == 0x66CCAA44);
  t.port_out(0xEA, 2, 0x0102);
  CHECK(t.port_in(0xE0, 4) == 0x0102AA44);
  CHECK(t.port_in(0xE9, 1) == 0xAA);
  CHECK(t.reads(PcTestDev::kLatch) == 8);
  CHECK(t.reads(PcTestDev::kLatchByte) == 2);
}

TEST_CASE("pc-testdev: flush page counts 4-byte writes, IRQ lines drive the ISA IRQs", "[misc]") {
  test::DevRig rig;
  PcTestDev t(rig.ctx);
  t.port_out(0xE4, 4, 0x123000);
  t.port_out(0xE4, 1, 0x5000);  // not a 4-byte write: ignored
  CHECK(t.flushes == 1);
  CHECK(t.last_flush == 0x123000);
  CHECK(t.port_in(0xE4, 4) == 0xFFFFFFFF);
  t.port_out(0x2000 + 14, 1, 1);
  CHECK(rig.pic_pins.level[14]);
  CHECK(rig.ioapic_pins.level[14]);
  t.port_out(0x2000 + 14, 1, 0);
  CHECK(!rig.pic_pins.level[14]);
  t.port_out(0x2000, 1, 0x80);  // nonzero raises: IRQ 0 is I/O APIC pin 2
  CHECK(rig.pic_pins.level[0]);
  CHECK(rig.ioapic_pins.level[2]);
  t.port_out(0x2000 + 5, 2, 1);  // not a byte write: ignored
  CHECK(!rig.pic_pins.level[5]);
  t.port_out(0x2000 + 20, 1, 1);  // no ISA line 20
  CHECK(!rig.ioapic_pins.level[20]);
  CHECK(t.port_in(0x2000 + 3, 1) == 0xFF);
  CHECK(t.writes(PcTestDev::kIrqLine) == 5);
}

TEST_CASE("pc-testdev: scratch MMIO of any size", "[misc]") {
  test::DevRig rig;
  PcTestDev t(rig.ctx);
  t.mmio_write(0, 8, 0x0102030405060708ull);
  CHECK(t.mmio_read(0, 8) == 0x0102030405060708ull);
  CHECK(t.mmio_read(1, 1) == 0x07);
  CHECK(t.mmio_read(2, 2) == 0x0506);
  CHECK(t.mmio_read(4, 4) == 0x01020304);
  t.mmio_write(3, 1, 0xEE);
  CHECK(t.mmio_read(0, 4) == 0xEE060708);
  t.mmio_write(0xFFF8, 8, ~0ull);
  CHECK(t.mmio_read(0xFFF8, 8) == ~0ull);
  CHECK(t.mmio_read(0xFFFC, 8) == 0xFFFFFFFF);  // cut at the end, never past it
  t.mmio_write(0xFFFF, 8, 0);
  CHECK(t.mmio_read(0xFFF8, 8) == 0x00FFFFFFFFFFFFFFull);
  CHECK(t.mmio_read(0x10000, 4) == 0);
  CHECK(t.reads(PcTestDev::kScratch) == 9);
  t.port_out(0xE0, 4, 0x5A5A5A5A);
  t.reset();  // survives a machine reset, as on QEMU
  CHECK(t.mmio_read(0, 4) == 0xEE060708);
  CHECK(t.latch() == 0x5A5A5A5A);
}

namespace {
std::string read_item(FwCfg& f, uint16_t key, size_t n) {
  f.port_out(0x510, 2, key);
  std::string s;
  for (size_t i = 0; i < n; i++) s += char(f.port_in(0x511, 1));
  return s;
}
uint64_t le_value(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = s.size(); i-- > 0;) v = v << 8 | uint8_t(s[i]);
  return v;
}
uint64_t be_value(const std::string& s, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | uint8_t(s[at + i]);
  return v;
}
}  // namespace

TEST_CASE("fw_cfg: signature, id, RAM size, CPUs, unknown keys", "[misc]") {
  test::DevRig rig;
  FwCfg f(rig.ctx, 256ull << 20, 1);
  CHECK(read_item(f, 0x00, 4) == "QEMU");
  CHECK(read_item(f, 0x00, 6) == std::string("QEMU\0\0", 6));  // past the end: 0
  CHECK(le_value(read_item(f, 0x01, 4)) == 1);
  CHECK(le_value(read_item(f, 0x03, 8)) == 256ull << 20);
  CHECK(le_value(read_item(f, 0x05, 2)) == 1);
  CHECK(le_value(read_item(f, 0x0F, 2)) == 1);
  CHECK(read_item(f, 0x1234, 4) == std::string(4, '\0'));
  CHECK(read_item(f, 0x8000, 4) == std::string(4, '\0'));  // arch-local set: empty
  CHECK(read_item(f, 0x4000, 4) == "QEMU");                // write-channel bit ignored
  CHECK(f.selected() == 0);
  FwCfg f4(rig.ctx, 1ull << 30, 4);
  CHECK(le_value(read_item(f4, 0x05, 2)) == 4);
}

TEST_CASE("fw_cfg: selecting resets the offset; odd accesses", "[misc]") {
  test::DevRig rig;
  FwCfg f(rig.ctx, 64ull << 20, 2);
  CHECK(read_item(f, 0x00, 2) == "QE");
  CHECK(read_item(f, 0x00, 2) == "QE");  // reselecting restarts
  f.port_out(0x510, 2, 0x00);
  CHECK(f.port_in(0x511, 1) == 'Q');
  CHECK(f.port_in(0x510, 1) == 'E');      // byte reads at 0x510 read data too
  CHECK(f.port_in(0x511, 2) == 0xFFFF);   // only byte reads
  CHECK(f.port_in(0x511, 4) == 0xFFFFFFFF);
  f.port_out(0x511, 1, 0x55);             // data writes are ignored
  f.port_out(0x510, 1, 0x03);             // a byte write does not select
  f.port_out(0x510, 4, 0x03);
  CHECK(f.port_in(0x511, 1) == 'M');
  CHECK(f.writes(FwCfg::kSelector) == 5);  // every write to 0x510
  CHECK(f.writes(FwCfg::kData) == 1);
  CHECK(f.reads(FwCfg::kData) == 9);
  read_item(f, 0x03, 3);
  f.reset();  // selects the signature again
  CHECK(f.port_in(0x511, 1) == 'Q');
}

TEST_CASE("fw_cfg: file directory as QEMU lays it out", "[misc]") {
  test::DevRig rig;
  FwCfg f(rig.ctx, 64ull << 20, 1);
  CHECK(read_item(f, 0x19, 4) == std::string(4, '\0'));
  CHECK(f.add_file("etc/e820", {1, 2, 3, 4, 5}) == 0x20);
  CHECK(f.add_file("bootorder", {'x'}) == 0x20);  // sorts first
  CHECK(f.add_file(std::string(56, 'n'), {1}) == 0);
  const std::string dir = read_item(f, 0x19, 4 + 2 * 64);
  CHECK(be_value(dir, 0, 4) == 2);
  CHECK(be_value(dir, 4, 4) == 1);
  CHECK(be_value(dir, 8, 2) == 0x20);
  CHECK(be_value(dir, 10, 2) == 0);
  CHECK(std::string(dir.c_str() + 12) == "bootorder");
  CHECK(dir[12 + 55] == 0);
  CHECK(be_value(dir, 68, 4) == 5);
  CHECK(be_value(dir, 72, 2) == 0x21);
  CHECK(std::string(dir.c_str() + 76) == "etc/e820");
  CHECK(read_item(f, 0x21, 6) == std::string("\1\2\3\4\5\0", 6));
  CHECK(read_item(f, 0x20, 1) == "x");
  // Replacing a file keeps its place; the selection survives the rebuild.
  f.port_out(0x510, 2, 0x21);
  CHECK(f.port_in(0x511, 1) == 1);
  CHECK(f.add_file("etc/e820", {9, 8}) == 0x21);
  f.port_out(0x510, 2, 0x21);
  CHECK(f.port_in(0x511, 1) == 9);
  CHECK(be_value(read_item(f, 0x19, 4 + 2 * 64), 68, 4) == 2);
  // Arch-local items stay outside the file range.
  f.set_item(0x8003, {7});
  CHECK(read_item(f, 0x8003, 2) == std::string("\7\0", 2));
  f.add_file("zzz", {});
  CHECK(read_item(f, 0x8003, 1) == "\7");
}

namespace {
struct ReportRig {
  test::DevRig rig;
  std::vector<uint8_t> ram = std::vector<uint8_t>(0x3000);
  ReportPort port{rig.ctx, [this](uint64_t pa, void* dst, size_t n) {
                    if (pa > ram.size() || n > ram.size() - pa) return false;
                    std::memcpy(dst, ram.data() + pa, n);
                    return true;
                  }};
  void put(uint64_t pa, std::string_view s, bool nul = true) {
    std::memcpy(ram.data() + pa, s.data(), s.size());
    if (nul) ram[pa + s.size()] = 0;
  }
  void submit(uint64_t pa) { port.port_out(0x0B10, 4, uint32_t(pa)); }
};
}  // namespace

TEST_CASE("report port: records in order with their cycle", "[misc]") {
  ReportRig r;
  std::vector<std::string> seen;
  r.port.on_record = [&](const ReportPort::Record& rec) { seen.push_back(rec.key); };
  r.put(0x100, "status=pass");
  r.rig.cycles = 1000;
  r.submit(0x100);
  r.put(0x100, "expr=a=b");  // the buffer may be reused at once
  r.rig.cycles = 2000;
  r.submit(0x100);
  r.put(0x200, "empty=");
  r.submit(0x200);
  // A record ending right at the end of RAM (read page by page).
  r.put(0x3000 - 6, "k=end", true);
  r.submit(0x3000 - 6);
  REQUIRE(r.port.records.size() == 4);
  CHECK(r.port.records[0].key == "status");
  CHECK(r.port.records[0].value == "pass");
  CHECK(r.port.records[0].cycle == 1000);
  CHECK(r.port.records[1].key == "expr");
  CHECK(r.port.records[1].value == "a=b");
  CHECK(r.port.records[1].cycle == 2000);
  CHECK(r.port.records[2].value.empty());
  CHECK(r.port.records[3].value == "end");
  CHECK(seen == std::vector<std::string>{"status", "expr", "empty", "k"});
  CHECK(r.port.bad_records == 0);
  CHECK(r.port.port_in(0x0B10, 4) == ReportPort::kSignature);
  CHECK(r.port.port_in(0x0B10, 1) == 0xFF);
  CHECK(r.port.writes(ReportPort::kRecord) == 4);
}

TEST_CASE("report port: bad records are dropped and counted", "[misc]") {
  ReportRig r;
  r.submit(0x5000);  // outside RAM
  r.put(0x100, std::string(256, 'a'), false);
  r.submit(0x100);  // no NUL within 256 bytes
  r.put(0x400, std::string(255, 'b'));
  r.submit(0x400);  // 255 characters and the NUL, but no '='
  r.put(0x600, "=value");
  r.submit(0x600);  // empty key
  r.put(0x700, "tab=\tx");
  r.submit(0x700);  // not printable
  r.put(0x800, "k=v");
  r.port.port_out(0x0B10, 2, 0x800);  // not a 32-bit OUT
  r.port.port_out(0x0B11, 4, 0x800);  // not at 0x0B10
  r.ram.back() = 'x';
  r.put(0x3000 - 3, "a=b", false);
  r.submit(0x3000 - 3);  // runs off the end of RAM
  CHECK(r.port.bad_records == 8);
  CHECK(r.port.records.empty());
  r.put(0x400, std::string(254, 'b') + "=");
  r.submit(0x400);  // the longest good record: 255 characters and the NUL
  REQUIRE(r.port.records.size() == 1);
  CHECK(r.port.records[0].key.size() == 254);
}

TEST_CASE("misc devices: random accesses stay in bounds", "[misc]") {
  ReportRig r;
  PcTestDev t(r.rig.ctx);
  FwCfg f(r.rig.ctx, 64ull << 20, 1);
  f.add_file("etc/x", std::vector<uint8_t>(300, 1));
  uint64_t x = 0x243F6A8885A308D3ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; i++) {
    const uint64_t v = next();
    const unsigned size = 1u << ((v >> 2) % 4);
    const unsigned psize = std::min(size, 4u);
    const uint32_t val = uint32_t(v >> 32);
    switch (v % 4) {
      case 0:
        if (v & 16) t.port_out(uint16_t(0xE0 + (v >> 8) % 12), psize, val);
        else t.port_in(uint16_t(0xE0 + (v >> 8) % 12), psize);
        t.port_out(uint16_t(0x2000 + (v >> 12) % 24), psize, val & 1);
        break;
      case 1:
        if (v & 16) t.mmio_write((v >> 8) % 0x10000, size, val);
        else t.mmio_read((v >> 8) % 0x10000, size);
        break;
      case 2:
        if (v & 16) f.port_out(uint16_t(0x510 + (v >> 8) % 2), psize, val);
        else f.port_in(uint16_t(0x510 + (v >> 8) % 2), psize);
        break;
      default:
        r.put((v >> 8) % 0x2F00, std::string(size_t((v >> 20) % 40), char(0x20 + (v >> 30) % 96)));
        r.port.port_out(uint16_t(0x0B10 + (v & 16 ? 0 : 1)), psize, val % 0x4000);
        break;
    }
  }
  CHECK(r.port.records.size() + r.port.bad_records > 0);
}
