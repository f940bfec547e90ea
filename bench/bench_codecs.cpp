// Decoder throughput per codec on one core: frames (samples) per second, fed in 4 KiB chunks as
// a serial read would deliver them. Target: >= 5 M native frames/s.
//   build-adapters/bench/bench_codecs --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "adapters/codecs/csv_line.h"
#include "adapters/codecs/native_frame.h"
#include "adapters/codecs/witmotion.h"

namespace {
using namespace primus::adapters::codecs;

constexpr int kFrames = 4096;

std::vector<std::uint8_t> native_stream(std::uint8_t fields) {
  std::vector<std::uint8_t> out{0};
  for (int i = 0; i < kFrames; ++i) {
    native::Frame f;
    f.fields = fields;
    f.device_id = 3;
    f.seq = static_cast<std::uint32_t>(i);
    f.t_device_us = 1'700'000'000'000'000ull + 10'000ull * i;
    for (int k = 0; k < 3; ++k) {
      f.acc[k] = 0.01f * static_cast<float>(i + k) - 9.81f * (k == 2);
      f.gyro[k] = 0.001f * static_cast<float>(i - k);
      f.mag[k] = 30.0f + static_cast<float>(k);
    }
    f.quat[0] = 0.7071f;
    f.quat[3] = 0.7071f;
    std::uint8_t buf[native::kMaxWire];
    out.insert(out.end(), buf, buf + native::encode(f, buf));
  }
  return out;
}

void run(benchmark::State& state, Decoder& dec, const std::vector<std::uint8_t>& bytes,
         int samples_per_pass) {
  std::uint64_t n = 0;
  float sink = 0;
  auto count = [&](const Decoded& d) {
    ++n;
    sink += d.sample.acc[0];
  };
  for (auto _ : state) {
    for (std::size_t off = 0; off < bytes.size(); off += 4096)
      dec.feed({bytes.data() + off, std::min<std::size_t>(4096, bytes.size() - off)}, count);
    benchmark::DoNotOptimize(sink);
  }
  if (n != static_cast<std::uint64_t>(samples_per_pass) * state.iterations() ||
      dec.counters().dropped_total() != 0)
    state.SkipWithError("decoder lost frames");
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes.size()) * state.iterations());
  state.counters["bytes_per_frame"] = static_cast<double>(bytes.size()) / samples_per_pass;
}

void BM_native_acc_gyro(benchmark::State& state) {
  static const auto bytes = native_stream(native::kFieldAcc | native::kFieldGyro);
  NativeDecoder dec;
  run(state, dec, bytes, kFrames);
}
BENCHMARK(BM_native_acc_gyro);

void BM_native_all_fields(benchmark::State& state) {
  static const auto bytes = native_stream(native::kFieldAcc | native::kFieldGyro |
                                          native::kFieldQuat | native::kFieldMag);
  NativeDecoder dec;
  run(state, dec, bytes, kFrames);
}
BENCHMARK(BM_native_all_fields);

void BM_csv_line(benchmark::State& state) {
  static const auto bytes = [] {
    std::string s = "\n";
    char line[160];
    for (int i = 0; i < kFrames; ++i) {
      std::snprintf(line, sizeof line, "%d,%.3f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f\n", i, i * 10.0,
                    0.01 * i, -0.02, 9.81, 0.001 * i, 0.25, -0.125);
      s += line;
    }
    return std::vector<std::uint8_t>(s.begin(), s.end());
  }();
  CsvOptions opt;
  for (auto c : {CsvColumn::kSeq, CsvColumn::kTimeMs, CsvColumn::kAccX, CsvColumn::kAccY,
                 CsvColumn::kAccZ, CsvColumn::kGyroX, CsvColumn::kGyroY, CsvColumn::kGyroZ})
    opt.columns.push_back(c);
  CsvLineDecoder dec(opt);
  run(state, dec, bytes, kFrames);
}
BENCHMARK(BM_csv_line);

std::vector<std::uint8_t> f11(std::uint8_t type, std::int16_t a, std::int16_t b, std::int16_t c) {
  std::vector<std::uint8_t> f{0x55, type};
  for (std::int16_t v : {a, b, c, std::int16_t{0}}) {
    f.push_back(static_cast<std::uint8_t>(v & 0xFF));
    f.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
  }
  unsigned sum = 0;
  for (auto x : f) sum += x;
  f.push_back(static_cast<std::uint8_t>(sum));
  return f;
}

void BM_witmotion_serial_acc_gyro_angle(benchmark::State& state) {
  static const auto bytes = [] {
    std::vector<std::uint8_t> s;
    for (int i = 0; i < kFrames; ++i) {
      const auto k = static_cast<std::int16_t>(i);
      for (const auto& f : {f11(0x51, k, 0, 2048), f11(0x52, 0, k, 100), f11(0x53, 100, 200, k)})
        s.insert(s.end(), f.begin(), f.end());
    }
    return s;
  }();
  WitmotionDecoder dec;
  run(state, dec, bytes, kFrames);
}
BENCHMARK(BM_witmotion_serial_acc_gyro_angle);

void BM_witmotion_ble(benchmark::State& state) {
  static const auto bytes = [] {
    std::vector<std::uint8_t> s;
    for (int i = 0; i < kFrames; ++i) {
      s.push_back(0x55);
      s.push_back(0x61);
      for (int k = 0; k < 9; ++k) {
        const auto v = static_cast<std::int16_t>(i * 7 + k);
        s.push_back(static_cast<std::uint8_t>(v & 0xFF));
        s.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
      }
    }
    return s;
  }();
  WitmotionDecoder dec;
  run(state, dec, bytes, kFrames);
}
BENCHMARK(BM_witmotion_ble);

}  // namespace

BENCHMARK_MAIN();
