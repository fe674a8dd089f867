// The physical memory map of the simulated PC (PLATFORM.md), in one place: what the
// loaders, the e820 map, the multiboot MBI, the ACPI tables and the devices agree on.
//
//   0x00000000-0x0009FBFF  RAM (conventional memory)              e820 usable
//   0x0009FC00-0x0009FFFF  RAM, "extended BIOS data area"         e820 reserved
//   0x000A0000-0x000DFFFF  RAM (legacy VGA/option-ROM hole; nothing is mapped there,
//                          it is simply not offered to the OS)    not in e820
//   0x000E0000-0x000FFFFF  RAM: firmware area; ACPI tables, RSDP  e820 reserved
//   0x00100000-RAM end     RAM                                    e820 usable
//   0xFEC00000             I/O APIC (4 KiB)                       e820 reserved
//   0xFEE00000             local APIC (4 KiB, relocatable)        e820 reserved
//   0xFF000000-0xFF00FFFF  pc-testdev scratch RAM (MMIO)
// RAM is one block from address 0 and ends below kRamLimit (3 GiB), under the
// 32-bit MMIO window; larger sizes are refused with a clear error.
#pragma once
#include <cstdint>
#include <vector>

namespace sim {

constexpr uint64_t kEbdaBase = 0x9FC00;
constexpr uint64_t kLowRamEnd = 0xA0000;
constexpr uint64_t kFirmwareBase = 0xE0000;  // ACPI tables and RSDP live here
constexpr uint64_t kFirmwareEnd = 0x100000;
constexpr uint64_t kHighRamBase = 0x100000;
constexpr uint64_t kRamLimit = 3ull << 30;
constexpr uint64_t kMinRam = 2ull << 20;
constexpr uint64_t kIoApicBase = 0xFEC00000;
constexpr uint64_t kLapicBase = 0xFEE00000;
constexpr uint64_t kTestDevMmioBase = 0xFF000000;
constexpr uint64_t kTestDevMmioSize = 0x10000;

// e820 types (ACPI 6.4 15.1 Table 15-374).
enum class E820Type : uint32_t { kUsable = 1, kReserved = 2, kAcpi = 3, kNvs = 4 };

struct E820Entry {
  uint64_t base, size;
  E820Type type;
};

// The map the firmware reports for `ram_bytes` of RAM (ascending, non-overlapping).
inline std::vector<E820Entry> e820_map(uint64_t ram_bytes) {
  std::vector<E820Entry> m;
  m.push_back({0, kEbdaBase, E820Type::kUsable});
  m.push_back({kEbdaBase, kLowRamEnd - kEbdaBase, E820Type::kReserved});
  m.push_back({kFirmwareBase, kFirmwareEnd - kFirmwareBase, E820Type::kReserved});
  if (ram_bytes > kHighRamBase)
    m.push_back({kHighRamBase, ram_bytes - kHighRamBase, E820Type::kUsable});
  m.push_back({kIoApicBase, 0x1000, E820Type::kReserved});
  m.push_back({kLapicBase, 0x1000, E820Type::kReserved});
  return m;
}

}  // namespace sim
