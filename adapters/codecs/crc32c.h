#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init 0xFFFFFFFF, final xor 0xFFFFFFFF),
// the checksum of the native frame. Check value: crc32c("123456789") == 0xE3069283.
// Pure function, thread-safe, no allocation.
#include <cstddef>
#include <cstdint>

namespace primus::adapters::codecs {

std::uint32_t crc32c(const std::uint8_t* data, std::size_t n) noexcept;

}  // namespace primus::adapters::codecs
