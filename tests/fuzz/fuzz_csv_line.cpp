// libFuzzer target: the CSV line decoder with every column kind, on arbitrary bytes in chunks
// the first input byte chooses; the second picks the separator.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "adapters/codecs/csv_line.h"

using namespace primus::adapters::codecs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  static const char seps[] = {',', ';', '\t', ' '};
  CsvOptions opt;
  opt.separator = seps[data[1] % 4];
  for (const char* n :
       {"device", "seq", "t_ms", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "skip",
        "quat_w", "quat_x", "quat_y", "quat_z", "mag_x", "mag_y", "mag_z"}) {
    CsvColumn c{};
    parse_csv_column(n, c);
    opt.columns.push_back(c);
  }
  data += 2;
  size -= 2;
  std::uint64_t frames = 0;
  auto sink = [&](const Decoded& d) {
    ++frames;
    if (d.sample.t_device_us < 0 || !d.has_device_id) std::abort();
  };
  CsvLineDecoder stream(opt, Sync::kHunt);
  for (std::size_t off = 0; off < size; off += chunk)
    stream.feed({data + off, size - off < chunk ? size - off : chunk}, sink);
  stream.finish(sink);
  if (stream.counters().frames != frames) std::abort();

  CsvOptions few;
  few.separator = ',';
  few.columns = {CsvColumn::kAccX, CsvColumn::kAccY, CsvColumn::kAccZ};
  CsvLineDecoder simple(few, Sync::kAligned);
  simple.feed({data, size}, [](const Decoded&) {});
  simple.finish([](const Decoded&) {});
  return 0;
}
