// libFuzzer target: the WitMotion decoder (11-byte serial and 20-byte BLE frames) on arbitrary
// bytes in chunks the first input byte chooses; split and whole feeding must agree.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "adapters/codecs/witmotion.h"

using primus::adapters::codecs::Decoded;
using primus::adapters::codecs::Sync;
using primus::adapters::codecs::WitmotionDecoder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 32;
  ++data;
  --size;
  std::uint64_t frames = 0;
  auto sink = [&](const Decoded& d) {
    ++frames;
    for (float v : d.sample.acc)
      if (!(std::fabs(v) <= 16.0f)) std::abort();  // int16 / 32768 * 16 g
    for (float v : d.sample.quat)
      if (!std::isfinite(v)) std::abort();
  };
  WitmotionDecoder stream;
  for (std::size_t off = 0; off < size; off += chunk)
    stream.feed({data + off, size - off < chunk ? size - off : chunk}, sink);
  std::uint64_t whole = 0;
  WitmotionDecoder one;
  one.feed({data, size}, [&](const Decoded&) { ++whole; });
  if (whole != frames) std::abort();
  stream.finish(sink);
  stream.reset(Sync::kAligned);
  stream.feed({data, size}, sink);
  return 0;
}
