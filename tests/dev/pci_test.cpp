// PCI configuration mechanism #1 (PCI 3.0 3.2.2.3.2) and the 440FX host bridge.
#include <catch2/catch.hpp>

#include "mmu/phys_mem.h"
#include "sim/dev/acpi.h"
#include "sim/dev/pci.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg, bool enable = true) {
  return (enable ? 0x8000'0000u : 0) | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

struct PciRig {
  test::DevRig rig;
  PciHost pci{rig.ctx};
  uint32_t read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size) {
    pci.port_out(0xCF8, 4, cfg_addr(bus, dev, fn, reg));
    return pci.port_in(uint16_t(0xCFC + (reg & 3)), size);
  }
  void write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint32_t v) {
    pci.port_out(0xCF8, 4, cfg_addr(bus, dev, fn, reg));
    pci.port_out(uint16_t(0xCFC + (reg & 3)), size, v);
  }
  uint32_t host(unsigned reg, unsigned size) { return read(0, 0, 0, reg, size); }
};

unsigned reg_index(const Device& d, const std::string& name) {
  for (unsigned i = 0; i < d.reg_names().size(); i++)
    if (d.reg_names()[i] == name) return i;
  FAIL("no register " << name);
  return 0;
}

}  // namespace

TEST_CASE("pci: the 440FX host bridge header", "[pci]") {
  PciRig r;
  CHECK(r.host(0x00, 4) == 0x1237'8086);  // device:vendor
  CHECK(r.host(0x04, 4) == 0x0280'0006);  // status:command (82441FX defaults)
  CHECK(r.host(0x08, 4) == 0x0600'0002);  // class 06:00:00, revision 02
  CHECK(r.host(0x0C, 4) == 0x0000'0000);  // header type 0, single function, no BIST
  for (unsigned reg = 0x10; reg < 0x40; reg += 4) CHECK(r.host(reg, 4) == 0);  // no BARs, no SSID
  CHECK(r.host(0x70, 4) == 0x0002'0000);  // SMRAM (72h) = 02h
  CHECK((r.host(0x04, 2) & 0x10) == 0);    // no capability list (status bit 4)
}

TEST_CASE("pci: every size at every offset reads the same bytes", "[pci]") {
  PciRig r;
  for (unsigned reg = 0; reg < 256; reg += 4) {
    const uint32_t d = r.host(reg, 4);
    for (unsigned lane = 0; lane < 4; lane++) {
      INFO("reg " << reg << " lane " << lane);
      CHECK(r.host(reg + lane, 1) == ((d >> (8 * lane)) & 0xFF));
      if (lane <= 2) CHECK(r.host(reg + lane, 2) == ((d >> (8 * lane)) & 0xFFFF));
    }
  }
  // A dword access at 0xCFE: two configuration bytes, then two bytes that are not
  // CONFIG_DATA (ports 0xD00-0xD01) and read all-ones.
  r.pci.port_out(0xCF8, 4, cfg_addr(0, 0, 0, 0));
  CHECK(r.pci.port_in(0xCFE, 4) == 0xFFFF'1237);
  CHECK(r.pci.port_in(0xCFF, 2) == 0xFF12);
}

TEST_CASE("pci: absent functions read all-ones and ignore writes", "[pci]") {
  PciRig r;
  for (unsigned dev = 0; dev < 32; dev++)
    for (unsigned fn = 0; fn < 8; fn++) {
      if (dev == 0 && fn == 0) continue;
      INFO("00:" << dev << "." << fn);
      CHECK(r.read(0, dev, fn, 0x00, 4) == 0xFFFF'FFFF);
      CHECK(r.read(0, dev, fn, 0x02, 2) == 0xFFFF);
      CHECK(r.read(0, dev, fn, 0x0E, 1) == 0xFF);
    }
  CHECK(r.read(1, 0, 0, 0x00, 4) == 0xFFFF'FFFF);    // type 1 cycle: no bus 1
  CHECK(r.read(255, 31, 7, 0xFC, 4) == 0xFFFF'FFFF);
  r.write(0, 1, 0, 0x04, 2, 0xFFFF);
  r.write(1, 0, 0, 0x04, 2, 0xFFFF);
  CHECK(r.host(0x04, 2) == 0x0006);  // not the host bridge's command register
  CHECK(r.pci.function(0, 0, 0) != nullptr);
  CHECK(r.pci.function(0, 1, 0) == nullptr);
}

TEST_CASE("pci: the enable bit", "[pci]") {
  PciRig r;
  r.pci.port_out(0xCF8, 4, cfg_addr(0, 0, 0, 0, false));
  CHECK(r.pci.port_in(0xCFC, 4) == 0xFFFF'FFFF);
  CHECK(r.pci.port_in(0xCFD, 1) == 0xFF);
  r.pci.port_out(0xCFC, 2, 0x0040);  // dropped: no configuration cycle
  r.pci.port_out(0xCF8, 4, cfg_addr(0, 0, 0, 4, false));
  r.pci.port_out(0xCFC, 2, 0x0140);
  CHECK(r.host(0x04, 2) == 0x0006);
}

TEST_CASE("pci: CONFIG_ADDRESS latching", "[pci]") {
  PciRig r;
  auto& p = r.pci;
  CHECK(p.port_in(0xCF8, 4) == 0);
  // Reserved bits 30:24 and bits 1:0 read 0.
  p.port_out(0xCF8, 4, 0xFFFF'FFFF);
  CHECK(p.port_in(0xCF8, 4) == 0x80FF'FFFC);
  p.port_out(0xCF8, 4, 0x8000'0000);
  CHECK(p.port_in(0xCF8, 4) == 0x8000'0000);
  // Byte and word accesses to 0xCF8-0xCFB are not CONFIG_ADDRESS: reads are
  // all-ones (nobody answers) and writes do not change the latch.
  p.port_out(0xCF8, 1, 0x12);
  p.port_out(0xCFA, 2, 0x3456);
  p.port_out(0xCFB, 1, 0x01);
  p.port_out(0xCF9, 4, 0x1234'5678);  // an unaligned dword is not 0xCF8 either
  CHECK(p.port_in(0xCF8, 4) == 0x8000'0000);
  CHECK(p.port_in(0xCF8, 1) == 0xFF);
  CHECK(p.port_in(0xCF8, 2) == 0xFFFF);
  CHECK(p.port_in(0xCFA, 1) == 0xFF);

  // Linux's probes (arch/x86/pci/direct.c): mechanism #1 reads back 0x80000000 and
  // finds a host bridge; mechanism #2 (byte writes of 0 to 0xCF8/0xCFA, read back 0)
  // is not there.
  p.port_out(0xCFB, 1, 0x00);
  p.port_out(0xCF8, 1, 0x00);
  p.port_out(0xCFA, 1, 0x00);
  CHECK(p.port_in(0xCF8, 1) != 0x00);
  p.port_out(0xCF8, 4, 0x8000'0000);
  CHECK(p.port_in(0xCF8, 4) == 0x8000'0000);
  CHECK(r.host(0x0A, 2) == 0x0600);  // class: host bridge

  // The latched register number selects the dword, the port the byte lane.
  p.port_out(0xCF8, 4, cfg_addr(0, 0, 0, 0x08));
  CHECK(p.port_in(0xCFC, 1) == 0x02);
  CHECK(p.port_in(0xCFF, 1) == 0x06);
  CHECK(p.config_address() == 0x8000'0008);
}

TEST_CASE("pci: writable, read-only and write-1-to-clear fields", "[pci]") {
  PciRig r;
  // Identity, class, revision and header type are read-only.
  r.write(0, 0, 0, 0x00, 4, 0);
  r.write(0, 0, 0, 0x08, 4, 0);
  r.write(0, 0, 0, 0x0C, 4, 0xFFFF'FFFF);
  CHECK(r.host(0x00, 4) == 0x1237'8086);
  CHECK(r.host(0x08, 4) == 0x0600'0002);
  CHECK(r.host(0x0C, 4) == 0x0000'F800);  // only MLT[7:3] took the write
  // PCICMD: MAE and BME stay on, PERRE and SERRE are writable, nothing else.
  r.write(0, 0, 0, 0x04, 2, 0xFFFF);
  CHECK(r.host(0x04, 2) == 0x0146);
  r.write(0, 0, 0, 0x04, 2, 0x0000);
  CHECK(r.host(0x04, 2) == 0x0006);
  // PCISTS: writing ones to the error bits clears them (none is set) and cannot set
  // anything; the capability bits stay.
  r.write(0, 0, 0, 0x06, 2, 0xFFFF);
  CHECK(r.host(0x06, 2) == 0x0280);
  // Byte write to the high byte of the command register alone.
  r.write(0, 0, 0, 0x05, 1, 0x01);
  CHECK(r.host(0x04, 2) == 0x0106);
  // BARs and reserved space ignore writes.
  r.write(0, 0, 0, 0x10, 4, 0xFFFF'FFFF);
  r.write(0, 0, 0, 0x3C, 4, 0xFFFF'FFFF);
  CHECK(r.host(0x10, 4) == 0);
  CHECK(r.host(0x3C, 4) == 0);
  // PAM registers are storage (bits 1:0 and 5:4); SMRAM keeps its hard-wired C_BASE_SEG.
  r.write(0, 0, 0, 0x59, 1, 0xFF);
  CHECK(r.host(0x59, 1) == 0x33);
  r.write(0, 0, 0, 0x72, 1, 0x00);
  CHECK(r.host(0x72, 1) == 0x02);
  r.write(0, 0, 0, 0x72, 1, 0xFF);
  CHECK(r.host(0x72, 1) == 0x7A);
  // Reset restores the power-on values and clears the latch.
  r.pci.reset();
  CHECK(r.pci.config_address() == 0);
  CHECK(r.host(0x04, 4) == 0x0280'0006);
  CHECK(r.host(0x58, 4) == 0);
  CHECK(r.host(0x70, 4) == 0x0002'0000);
}

TEST_CASE("pci: accesses are counted by register", "[pci]") {
  PciRig r;
  r.host(0x00, 4);
  r.pci.port_in(0xCF9, 1);
  const unsigned a = reg_index(r.pci, "config_address"), d = reg_index(r.pci, "config_data");
  CHECK(r.pci.writes(a) == 1);
  CHECK(r.pci.reads(a) == 1);
  CHECK(r.pci.reads(d) == 1);
}

namespace {
// A second function added later (the extension point).
struct TestFunction final : PciFunction {
  TestFunction() : PciFunction(0x1234, 0x5678, 1, 0xFF'00'00, 0) { define(0x40, 4, 0, 0x00FF'FF00); }
  unsigned writes = 0;
  void config_written(unsigned, unsigned) override { writes++; }
};
}  // namespace

TEST_CASE("pci: more functions can be added", "[pci]") {
  PciRig r;
  auto f = std::make_unique<TestFunction>();
  TestFunction* tf = f.get();
  r.pci.add_function(0, 3, 1, std::move(f));
  CHECK(r.read(0, 3, 1, 0, 4) == 0x5678'1234);
  CHECK(r.read(0, 3, 0, 0, 4) == 0xFFFF'FFFF);
  r.write(0, 3, 1, 0x40, 4, 0xFFFF'FFFF);
  CHECK(r.read(0, 3, 1, 0x40, 4) == 0x00FF'FF00);
  CHECK(tf->writes == 1);
  CHECK(r.read(0, 3, 1, 0x0B, 1) == 0xFF);  // class code
}

TEST_CASE("pci: configuration cycles are traced by bus:device.function+register", "[pci]") {
  PciRig r;
  r.rig.enable_trace();
  r.host(0x08, 2);
  r.write(0, 1, 2, 0x10, 4, 0xFFFF'FFFF);
  r.pci.port_out(0xCF8, 4, 0);
  r.pci.port_in(0xCFC, 1);
  std::string all;
  for (auto& l : r.rig.trace_lines) all += l + "\n";
  CHECK(all.find("pci: config 00:00.0+0x08 r 0x2 (2 bytes)") != std::string::npos);
  CHECK(all.find("pci: config 00:01.2+0x10 w 0xffffffff (4 bytes): no function") != std::string::npos);
  CHECK(all.find("pci: config 00:00.0+0x00 r 0xff (1 byte): disabled") != std::string::npos);
}

TEST_CASE("pci: with the reset control register mapped over 0xCF9", "[pci]") {
  // The platform maps PciHost on 0xCF8-0xCFF, then ResetControl on 0xCF9 (sim/dev/
  // acpi.h): dispatch goes by the first port, so the dword CONFIG_ADDRESS at 0xCF8
  // still reaches PciHost and the byte at 0xCF9 is the reset register.
  test::DevRig rig;
  PciHost pci(rig.ctx);
  unsigned resets = 0;
  ResetControl rc(rig.ctx, [&] { resets++; });
  mmu::PhysMem mem(2ull << 20);
  mem.map_ports(PciHost::kPortBase, PciHost::kPortCount, &pci);
  mem.map_ports(ResetControl::kPort, 1, &rc);
  mem.port_out(0xCF8, 4, 0x8000'0000);
  CHECK(mem.port_in(0xCF8, 4) == 0x8000'0000);
  CHECK(mem.port_in(0xCFC, 4) == 0x1237'8086);
  mem.port_out(0xCF9, 1, 0x02);
  CHECK(mem.port_in(0xCF9, 1) == 0x02);
  CHECK(pci.config_address() == 0x8000'0000);
  mem.port_out(0xCF9, 1, 0x06);
  CHECK(resets == 1);
}
