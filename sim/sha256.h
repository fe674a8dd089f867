// SHA-256 (FIPS 180-4), for identifying workload images in result records.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sim {

std::string sha256_hex(const uint8_t* data, size_t len);

}  // namespace sim
