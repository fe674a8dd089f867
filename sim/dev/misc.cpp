#include "sim/dev/misc.h"

#include <algorithm>
#include <cstring>

#include "sim/dev/irq.h"

namespace sim {

namespace {
uint64_t all_ones(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }
}  // namespace

// ---------------------------------------------------------------------------------
// ExitPorts

ExitPorts::ExitPorts(DeviceContext& ctx, StopFn stop)
    : Device(ctx, "exit", {"debug_exit", "shutdown"}), stop_(std::move(stop)) {}

unsigned ExitPorts::reg_of(Space, uint64_t addr, bool) const {
  return addr == kShutdownPort ? kShutdown : kDebugExit;
}

uint64_t ExitPorts::io_read(Space, uint64_t, unsigned size) { return all_ones(size); }

void ExitPorts::io_write(Space, uint64_t addr, unsigned, uint64_t value) {
  if (addr != kShutdownPort) {
    stop_(false, uint32_t(value));
    return;
  }
  // "Shutdown" byte by byte; a wrong byte restarts the match (at 1 if it is an 'S').
  static constexpr char kMagic[] = "Shutdown";
  const char ch = char(value);
  if (ch == kMagic[shutdown_matched_]) shutdown_matched_++;
  else shutdown_matched_ = ch == kMagic[0] ? 1 : 0;
  if (shutdown_matched_ == sizeof kMagic - 1) {
    shutdown_matched_ = 0;
    stop_(true, 0);
  }
}

// ---------------------------------------------------------------------------------
// PostPort

PostPort::PostPort(DeviceContext& ctx) : Device(ctx, "post", {"post"}) {}

uint64_t PostPort::io_read(Space, uint64_t, unsigned size) { return all_ones(size); }

void PostPort::io_write(Space, uint64_t, unsigned, uint64_t value) { last = uint8_t(value); }

// ---------------------------------------------------------------------------------
// PcTestDev

PcTestDev::PcTestDev(DeviceContext& ctx)
    : Device(ctx, "testdev", {"latch", "flush_page", "latch_byte", "irq_line", "scratch", "unused"}),
      scratch_(kScratchSize) {}

unsigned PcTestDev::reg_of(Space s, uint64_t addr, bool) const {
  if (s == Space::kMmio) return kScratch;
  if (addr >= kLatchPort && addr < kLatchPort + 4) return kLatch;
  if (addr >= kFlushPort && addr < kFlushPort + 4) return kFlushPage;
  if (addr >= kLatchBytePort && addr < kLatchBytePort + 4) return kLatchByte;
  if (addr >= kIrqPort && addr < kIrqPort + kIrqPorts) return kIrqLine;
  return kUnused;
}

uint64_t PcTestDev::io_read(Space s, uint64_t addr, unsigned size) {
  size = std::min(size, 8u);
  if (s == Space::kMmio) {
    uint64_t v = 0;
    if (addr < kScratchSize)
      std::memcpy(&v, &scratch_[addr], std::min<uint64_t>(size, kScratchSize - addr));
    return v;
  }
  const unsigned r = reg_of(s, addr, false);
  if (r != kLatch && r != kLatchByte) return all_ones(size);
  // Lanes k.. of the latch; lanes past 3 do not exist (they read 0, as QEMU's mask
  // cuts them off).
  const unsigned lane = unsigned(addr & 3);
  return (uint64_t(latch_) >> (8 * lane)) & all_ones(std::min(size, 4u));
}

void PcTestDev::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  size = std::min(size, 8u);
  if (s == Space::kMmio) {
    if (addr < kScratchSize)
      std::memcpy(&scratch_[addr], &value, std::min<uint64_t>(size, kScratchSize - addr));
    return;
  }
  switch (reg_of(s, addr, true)) {
    case kLatch:
    case kLatchByte: {
      const unsigned lane = unsigned(addr & 3);
      const uint64_t mask = (all_ones(std::min(size, 4u)) << (8 * lane)) & 0xFFFFFFFFull;
      latch_ = uint32_t((latch_ & ~mask) | ((value << (8 * lane)) & mask));
      break;
    }
    case kFlushPage:
      if (addr == kFlushPort && size == 4) {
        flushes++;
        last_flush = uint32_t(value);
      }
      break;
    case kIrqLine:
      if (size == 1 && ctx_.irq) ctx_.irq->set_isa_irq(unsigned(addr - kIrqPort), value & 0xFF);
      break;
    default: break;
  }
}

// ---------------------------------------------------------------------------------
// FwCfg

namespace {
template <typename T>
std::vector<uint8_t> le(T v) {
  std::vector<uint8_t> b(sizeof v);
  for (size_t i = 0; i < sizeof v; i++) b[i] = uint8_t(uint64_t(v) >> (8 * i));
  return b;
}
void put_be(std::vector<uint8_t>& b, uint64_t v, unsigned n) {
  for (unsigned i = n; i-- > 0;) b.push_back(uint8_t(v >> (8 * i)));
}
}  // namespace

FwCfg::FwCfg(DeviceContext& ctx, uint64_t ram_bytes, unsigned cpus)
    : Device(ctx, "fw_cfg", {"selector", "data"}) {
  items_[kSignature] = {'Q', 'E', 'M', 'U'};
  items_[kId] = le<uint32_t>(1);  // bit 0: traditional interface; bit 1 (DMA) clear
  items_[kRamSize] = le<uint64_t>(ram_bytes);
  items_[kNbCpus] = le<uint16_t>(uint16_t(cpus));
  items_[kMaxCpus] = le<uint16_t>(uint16_t(cpus));
  rebuild_files();
  cur_ = &items_[kSignature];
}

void FwCfg::reset() {
  key_ = 0;
  offset_ = 0;
  cur_ = &items_[kSignature];
}

void FwCfg::set_item(uint16_t key, std::vector<uint8_t> bytes) {
  items_[normalize(key)] = std::move(bytes);
  // std::map keeps element addresses stable; re-resolve the selection anyway in
  // case the selected item was just created.
  auto it = items_.find(key_);
  cur_ = it == items_.end() ? nullptr : &it->second;
}

uint16_t FwCfg::add_file(const std::string& name, std::vector<uint8_t> bytes) {
  if (name.empty() || name.size() > kMaxName) return 0;
  files_[name] = std::move(bytes);
  rebuild_files();
  return uint16_t(kFileFirst + std::distance(files_.begin(), files_.find(name)));
}

void FwCfg::rebuild_files() {
  // Drop the old file items, then lay out the directory and the files by name.
  for (auto it = items_.lower_bound(kFileFirst); it != items_.end() && it->first < 0x8000;)
    it = items_.erase(it);
  std::vector<uint8_t> dir;
  put_be(dir, files_.size(), 4);
  uint16_t key = kFileFirst;
  for (const auto& [name, bytes] : files_) {
    put_be(dir, bytes.size(), 4);
    put_be(dir, key, 2);
    put_be(dir, 0, 2);
    char field[kMaxName + 1] = {};
    std::memcpy(field, name.data(), name.size());
    dir.insert(dir.end(), field, field + sizeof field);
    items_[key++] = bytes;
  }
  items_[kFileDir] = std::move(dir);
  auto it = items_.find(key_);
  cur_ = it == items_.end() ? nullptr : &it->second;
}

unsigned FwCfg::reg_of(Space, uint64_t addr, bool write) const {
  // A 16-bit write selects; everything else addresses the data register (QEMU's
  // combined region reads data at both ports).
  return write && addr == kSelectorPort ? kSelector : kData;
}

uint64_t FwCfg::io_read(Space, uint64_t, unsigned size) {
  if (size != 1) return all_ones(size);
  if (!cur_ || offset_ >= cur_->size()) return 0;  // unknown key / past the end
  return (*cur_)[offset_++];
}

void FwCfg::io_write(Space, uint64_t addr, unsigned size, uint64_t value) {
  if (addr != kSelectorPort || size != 2) return;  // data writes: removed in QEMU 2.4
  key_ = normalize(uint16_t(value));
  offset_ = 0;
  auto it = items_.find(key_);
  cur_ = it == items_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------
// ReportPort

ReportPort::ReportPort(DeviceContext& ctx, ReadPhys read_phys)
    : Device(ctx, "report", {"record"}), read_phys_(std::move(read_phys)) {}

uint64_t ReportPort::io_read(Space, uint64_t addr, unsigned size) {
  if (addr == kPort && size == 4) return kSignature;
  return all_ones(size);
}

void ReportPort::io_write(Space, uint64_t addr, unsigned size, uint64_t value) {
  if (addr != kPort || size != 4) {
    bad_records++;
    return;
  }
  submit(uint32_t(value));
}

void ReportPort::submit(uint64_t pa) {
  char buf[kMaxRecord];
  size_t len = 0;
  bool terminated = false;
  // Read up to the NUL, never across a 4 KiB page in one request, so a record that
  // ends just before the end of RAM is still read.
  while (len < kMaxRecord && !terminated) {
    const uint64_t at = pa + len;
    const size_t chunk = std::min<size_t>(kMaxRecord - len, 4096 - (at & 4095));
    if (!read_phys_ || !read_phys_(at, buf + len, chunk)) break;
    const void* nul = std::memchr(buf + len, 0, chunk);
    if (nul) {
      len = size_t(static_cast<const char*>(nul) - buf);
      terminated = true;
    } else {
      len += chunk;
    }
  }
  const std::string_view text(buf, terminated ? len : 0);
  const size_t eq = text.find('=');
  const bool printable =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
  if (!terminated || !printable || eq == std::string_view::npos || eq == 0) {
    bad_records++;
    trace("dev", "bad record");
    return;
  }
  records.push_back({ctx_.now(), std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))});
  if (ctx_.tracing()) trace("dev", "record " + std::string(text));
  if (on_record) on_record(records.back());
}

}  // namespace sim
