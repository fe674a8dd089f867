// Differential check of isa::decode() against Capstone 4: validity and length of
// one instruction in 16-, 32- or 64-bit mode. Disagreements that are Capstone's
// errors, or encodings of features the modelled CPU deliberately lacks, are
// classified by predicates, each citing its entry in capstone_known_errors.md.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "isa/decoded_inst.h"

namespace nestsim::test {

constexpr unsigned kWindow = 15;  // bytes given to both decoders
constexpr uint64_t kDefaultSeed = 0x6e657374;  // sample seed of the ctest (+ mode)

struct DiffResult {
  isa::DecodeStatus status;  // ours
  bool ours_valid;
  unsigned ours_len;
  bool cs_valid;
  unsigned cs_len;
  std::string cs_text;      // "mnemonic operands" when Capstone decoded something
  std::string cs_mnemonic;  // the mnemonic without prefixes ("lock add" -> "add")
  // When both decode with the same length: how our ModRM memory operand (base, index,
  // scale, displacement) and immediate differ from Capstone's ("" = the same).
  std::string mem_mismatch;
  bool agree() const {
    return ours_valid == cs_valid && (!ours_valid || (ours_len == cs_len && mem_mismatch.empty()));
  }
};

// Capstone handles for the three modes (opened once, with operand details).
class CapstoneDiff {
 public:
  CapstoneDiff();
  ~CapstoneDiff();
  CapstoneDiff(const CapstoneDiff&) = delete;
  CapstoneDiff& operator=(const CapstoneDiff&) = delete;
  // `bytes` holds kWindow bytes.
  DiffResult compare(const uint8_t* bytes, isa::CodeSize mode);

 private:
  size_t handle_[3];
};

// Why a disagreement is not our bug. The ids match the headings of
// capstone_known_errors.md ("CS-n" Capstone errors, "LACK-n" lacked features).
struct Excuse {
  const char* id;    // nullptr: an unexplained disagreement (a bug to fix)
  const char* what;
};
Excuse classify(const uint8_t* bytes, isa::CodeSize mode, const DiffResult& r);

// Random instruction byte strings, biased so every map and encoding is exercised:
// legacy prefixes, REX (64-bit mode), 0F/0F38/0F3A escapes, VEX C4/C5 with random
// fields, and ModRM/SIB bytes that favour memory forms.
class InstGenerator {
 public:
  explicit InstGenerator(uint64_t seed) : rng_(seed) {}
  void next(uint8_t* out /* kWindow bytes */, isa::CodeSize mode);

 private:
  unsigned pick(unsigned n) { return unsigned(rng_() % n); }
  std::mt19937_64 rng_;
};

std::string hex(const uint8_t* bytes, unsigned n);

}  // namespace nestsim::test
