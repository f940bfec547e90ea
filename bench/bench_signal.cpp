// Signal core micro-benchmarks: nanoseconds per input sample, single core, steady state.
//   bench_signal [--benchmark_filter=...]
// Items/s = samples/s; time per iteration = ns per sample. Inputs come from the real phone
// recording (../shared/data/iphone-sensorlogger/merged_100hz.csv), replayed in a loop with times
// that keep increasing.
#include <benchmark/benchmark.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/signal/device_pipeline.h"
#include "src/signal/quat_rate.h"
#include "src/signal/resampler.h"
#include "src/signal/windower.h"

namespace {

using namespace primus;
using namespace primus::signal;

struct Row {
  std::array<double, 4> q;  // w, x, y, z
  std::array<float, 3> gyro;
  std::array<float, 3> acc;
};

const std::vector<Row>& phone() {
  static const std::vector<Row> rows = [] {
    std::vector<Row> r;
    std::ifstream in(std::string(PRIMUS_SHARED_DATA_DIR) + "/iphone-sensorlogger/merged_100hz.csv");
    if (!in) throw std::runtime_error("bench_signal: cannot open the phone recording");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<double> f;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, ',')) f.push_back(std::stod(c));
      Row row{};
      row.q = {f[2], f[3], f[4], f[5]};
      row.gyro = {static_cast<float>(f[6]), static_cast<float>(f[7]), static_cast<float>(f[8])};
      // specific force = −(user acceleration + gravity)
      for (int k = 0; k < 3; ++k) row.acc[k] = static_cast<float>(-(f[9 + k] + f[12 + k]));
      r.push_back(row);
    }
    return r;
  }();
  return rows;
}

void bm_quat_rate(benchmark::State& state) {
  const auto& rows = phone();
  QuatRate qr(static_cast<QuatRateMethod>(state.range(0)));
  std::size_t i = 0;
  std::uint64_t n = 0;
  double sink = 0.0;
  for (auto _ : state) {
    QuatRateOut o;
    bool has = false;
    qr.push(static_cast<double>(n++) * 0.01, rows[i].q, o, has);
    if (has) sink += o.w.x();
    if (++i == rows.size()) i = 0;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_quat_rate)->Arg(static_cast<int>(QuatRateMethod::kCentred))->ArgName("centred");
BENCHMARK(bm_quat_rate)->Arg(static_cast<int>(QuatRateMethod::kForward))->ArgName("forward");

void bm_resampler(benchmark::State& state) {
  const double rate_in = static_cast<double>(state.range(0));
  const auto& rows = phone();
  Resampler r(50.0, rate_in);
  const double period_ns = 1e9 / rate_in;
  std::size_t i = 0;
  std::int64_t n = 0;
  float sink = 0.0f;
  for (auto _ : state) {
    const Row& row = rows[i];
    const std::array<float, 6> v{row.acc[0],  row.acc[1],  row.acc[2],
                                 row.gyro[0], row.gyro[1], row.gyro[2]};
    r.push(1'000'000'000 + std::llround(static_cast<double>(n++) * period_ns), v,
           [&](const ResampledFrame& f) { sink += f.v[0]; });
    if (++i == rows.size()) i = 0;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_resampler)->Arg(100)->ArgName("in_hz");
BENCHMARK(bm_resampler)->Arg(119)->ArgName("in_hz");
BENCHMARK(bm_resampler)->Arg(10)->ArgName("in_hz");

// One model frame into the ring plus the windower's poll; a 250 x 6 window is cut every 10 frames.
void bm_ring_window(benchmark::State& state) {
  WindowConfig win;
  FrameRing ring(3000);
  Windower w(win, 0);
  ModelFrame f;
  std::int64_t n = 0;
  std::uint64_t windows = 0;
  for (auto _ : state) {
    f.t_host_ns = n * 20'000'000;
    f.v[0] = static_cast<float>(n & 7);
    ring.push(f);
    Window out;
    if (w.push(f, f.t_host_ns, out)) {
      ++windows;
      benchmark::DoNotOptimize(out.data.data());
    }
    ++n;
  }
  state.counters["windows"] = static_cast<double>(windows);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_ring_window);

// The whole per-sample path at 100 Hz in, 50 Hz / 250 / hop 10 out. Arg 0: measured gyro,
// 1: gyro from quaternions.
void bm_pipeline(benchmark::State& state) {
  const bool from_quat = state.range(0) == 1;
  const auto& rows = phone();
  DeviceConfig dev;
  dev.rate_hz = 100.0;
  dev.gyro_source = from_quat ? GyroSource::kFromQuaternion : GyroSource::kMeasured;
  WindowConfig win;
  DevicePipeline p(dev, win, 0);
  std::uint64_t windows = 0;
  const std::function<void(Window &&)> on_window = [&](Window&& w) {
    ++windows;
    benchmark::DoNotOptimize(w.data.data());
  };
  Sample s;
  s.fields = kFieldAcc | kFieldSeq | kFieldTDevice | (from_quat ? kFieldQuat : kFieldGyro);
  std::size_t i = 0;
  std::uint32_t n = 0;
  for (auto _ : state) {
    const Row& row = rows[i];
    s.seq = n;
    s.t_device_us = std::int64_t{n} * 10'000;
    s.t_host_ns = 9'000'000'000 + std::int64_t{n} * 10'000'000 + 2'000'000 + (n % 7) * 300'000;
    s.acc = row.acc;
    s.gyro = row.gyro;
    s.quat = {static_cast<float>(row.q[0]), static_cast<float>(row.q[1]),
              static_cast<float>(row.q[2]), static_cast<float>(row.q[3])};
    p.push(s, on_window);
    ++n;
    if (++i == rows.size()) i = 0;
  }
  state.counters["windows"] = static_cast<double>(windows);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_pipeline)->Arg(0)->ArgName("from_quat");
BENCHMARK(bm_pipeline)->Arg(1)->ArgName("from_quat");

}  // namespace

BENCHMARK_MAIN();
