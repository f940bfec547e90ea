// libFuzzer target: the JSON sample codec (MQTT payloads) on arbitrary bytes, fed in chunks the
// first input byte chooses, with default keys and with renamed, dotted keys; every sample it
// delivers must be complete and sane, and its frame counter must match.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "adapters/codecs/json_sample.h"

using namespace primus::adapters::codecs;

namespace {

void run(JsonSampleDecoder& d, const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  std::uint64_t frames = d.counters().frames;
  auto sink = [&](const Decoded& x) {
    ++frames;
    if (!x.sample.has(primus::kFieldAcc) || x.has_device_id) std::abort();
    if (x.sample.has(primus::kFieldTDevice) && x.sample.t_device_us < 0) std::abort();
  };
  d.reset(Sync::kAligned);
  for (std::size_t off = 0; off < size; off += chunk)
    d.feed({data + off, size - off < chunk ? size - off : chunk}, sink);
  d.finish(sink);
  if (d.counters().frames != frames) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 128;
  ++data;
  --size;
  static JsonSampleDecoder plain{JsonOptions{}};
  run(plain, data, size, chunk);
  static JsonSampleDecoder renamed = [] {
    JsonOptions o;
    o.rename({"acc_x=ax", "acc_y=a.y", "acc_z=a.b.z", "gyro_x=g.0", "gyro_y=g.1", "gyro_z=g.2",
              "t_ms=ts", "seq=n"});
    return JsonSampleDecoder(o);
  }();
  run(renamed, data, size, chunk);
  return 0;
}
