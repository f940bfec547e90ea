// libFuzzer target: the native frame decoder on arbitrary bytes, fed in the chunks the first
// input byte chooses (so frames split at every boundary get exercised), as a stream and as a
// datagram. Checks the decoder's invariants, not just absence of crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "adapters/codecs/native_frame.h"

using primus::adapters::codecs::Decoded;
using primus::adapters::codecs::NativeDecoder;
using primus::adapters::codecs::Sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  ++data;
  --size;
  std::uint64_t frames = 0;
  auto sink = [&](const Decoded& d) {
    ++frames;
    // Every delivered frame is internally consistent.
    if (!d.has_device_id || d.device_id > 0xFFFF || d.sample.t_device_us < 0 ||
        (d.sample.fields & 0x0F) == 0)
      std::abort();
  };
  NativeDecoder stream(Sync::kHunt);
  for (std::size_t off = 0; off < size; off += chunk)
    stream.feed({data + off, size - off < chunk ? size - off : chunk}, sink);
  if (stream.counters().frames != frames) std::abort();

  // The same bytes in one piece decode to the same number of frames.
  std::uint64_t whole = 0;
  NativeDecoder one(Sync::kHunt);
  one.feed({data, size}, [&](const Decoded&) { ++whole; });
  if (whole != frames) std::abort();

  NativeDecoder datagram(Sync::kAligned);
  datagram.feed({data, size}, sink);
  datagram.finish(sink);
  return 0;
}
