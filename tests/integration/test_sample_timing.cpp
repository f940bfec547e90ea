// Sample timing of a device without a clock over a real pseudo-terminal: an Arduino-style CSV
// stream (no time column, no sequence number) at 100 Hz, its lines written in chunks as a
// USB-serial bridge hands them over (16 ms, 50 ms, random sizes, a 300 ms stall), read by the
// serial adapter and placed by the DevicePipeline's sample clock. Checks that no sample is dropped
// and how far the placed times are from the true sample times (printed as "[ timing ]").
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "adapters/source.h"
#include "pty_helpers.h"
#include "src/signal/device_pipeline.h"
#include "tests/unit/signal/timing_scenarios.h"

namespace primus::adapters {
namespace {
namespace fs = std::filesystem;
using test::Delivery;
using test::run_until;
using test::TimingScenario;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "primus_timing_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::int64_t now_ns() { return SteadyTimeSource::instance().now_ns(); }

struct Result {
  test::ErrorStats err{};
  std::uint64_t written = 0, received = 0, dropped = 0, gaps = 0, stalls = 0, resyncs = 0;
};

Result run(const TimingScenario& sc) {
  TempDir dir;
  boost::asio::io_context io;
  test::FakeSerialDevice dev(dir.path / "arduino");
  DeviceConfig d;
  d.id = "arduino";
  d.adapter = AdapterKind::kSerial;
  d.codec = CodecKind::kCsv;
  d.csv_columns = {"acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"};
  d.path = dev.link().string();
  d.baud = 921600;
  d.idle_timeout_s = 0;
  d.rate_hz = sc.prior_hz;
  WindowConfig w;
  w.rate_hz = 50.0;
  w.length = 125;
  w.hop = 25;
  signal::DevicePipeline pipe(d, w, 0);
  std::vector<std::int64_t> placed, arrived;
  bool connected = false;
  auto src = make_source(d, 0,
                         SourceContext{io, SteadyTimeSource::instance(),
                                       [&](const Sample& s) {
                                         const auto used = pipe.counters().samples_used;
                                         pipe.push(s, [](Window&&) {});
                                         if (pipe.counters().samples_used == used) return;
                                         placed.push_back(pipe.last_sample_ns());
                                         arrived.push_back(s.t_host_ns);
                                       },
                                       [&](SourceState s, const std::string&) {
                                         connected = s == SourceState::kConnected;
                                       }});
  src->start();
  EXPECT_TRUE(run_until(io, [&] { return connected; }));
  const std::string sync = "\n";
  dev.write({reinterpret_cast<const std::uint8_t*>(sync.data()), sync.size()}, io);
  io.run_for(std::chrono::milliseconds(50));

  const auto arr = test::make_arrivals(sc);
  const std::int64_t t0 = now_ns() + 20'000'000;
  std::vector<std::int64_t> truth;
  std::size_t i = 0;
  while (i < arr.size()) {
    const std::int64_t at = t0 + std::llround(arr[i].t_arrival_s * 1e9);
    std::string chunk;
    for (; i < arr.size() && t0 + std::llround(arr[i].t_arrival_s * 1e9) == at; ++i) {
      const double ph = arr[i].t_true_s;
      chunk += std::to_string(0.01 * ph) + ",0.02,1.0," + std::to_string(ph) + ",-2.5,0\n";
      truth.push_back(t0 + std::llround(arr[i].t_true_s * 1e9));
    }
    while (now_ns() < at) {
      if (io.stopped()) io.restart();
      io.run_for(std::chrono::microseconds(std::min<std::int64_t>((at - now_ns()) / 1000, 2000)));
    }
    dev.write({reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size()}, io);
  }
  run_until(
      io, [&] { return pipe.counters().samples_in >= truth.size(); }, std::chrono::seconds(5));
  src->stop();

  Result r;
  r.written = truth.size();
  r.received = pipe.counters().samples_in;
  const auto& c = pipe.counters();
  r.dropped = c.samples_in - c.samples_used;
  r.gaps = c.gaps_bridged + c.gaps_reset;
  r.stalls = c.timing_stalls;
  r.resyncs = c.timing_resyncs;
  // The envelope: the least latency the link showed (pty, adapter, this loop's own lateness).
  double lat = 1e18;
  const std::size_t n = std::min(placed.size(), truth.size());
  for (std::size_t k = 0; k < n; ++k)
    lat = std::min(lat, static_cast<double>(arrived[k] - truth[k]));
  for (std::size_t k = 0; k < n; ++k) {
    const double t_s = static_cast<double>(truth[k] - t0) * 1e-9;
    if (t_s < 2.0) continue;
    if (sc.stall_at_s >= 0 && t_s >= sc.stall_at_s - 0.1 && t_s < sc.stall_at_s + sc.stall_s + 0.5)
      continue;
    r.err.add(static_cast<double>(placed[k] - truth[k]) * 1e-9 - lat * 1e-9);
  }
  r.err.finish();
  std::printf(
      "[ timing ] pty csv %-28s err RMS %6.3f max %6.3f ms | written %llu received %llu dropped "
      "%llu gaps %llu stalls %llu resyncs %llu | rate %.3f Hz\n",
      sc.name.c_str(), r.err.rms_ms, r.err.max_ms, static_cast<unsigned long long>(r.written),
      static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.dropped),
      static_cast<unsigned long long>(r.gaps), static_cast<unsigned long long>(r.stalls),
      static_cast<unsigned long long>(r.resyncs), pipe.sample_clock().rate_hz());
  return r;
}

TimingScenario scenario(std::string name, Delivery d, double chunk_s, double duration_s = 7.0) {
  TimingScenario s;
  s.name = std::move(name);
  s.delivery = d;
  s.chunk_s = chunk_s;
  s.duration_s = duration_s;
  return s;
}

TEST(SampleTimingPty, CsvWithoutTimeColumnInChunksKeepsEverySampleAndItsSpacing) {
  std::vector<TimingScenario> v{scenario("chunks 16 ms", Delivery::kChunk, 0.016),
                                scenario("chunks 50 ms", Delivery::kChunk, 0.050),
                                scenario("random chunks 1-32 ms", Delivery::kRandomChunk, 0.016)};
  auto stall = scenario("stall 300 ms (16 ms chunks)", Delivery::kChunk, 0.016, 8.0);
  stall.stall_at_s = 5.0;
  stall.stall_s = 0.3;
  v.push_back(stall);
  for (const auto& sc : v) {
    const Result r = run(sc);
    EXPECT_EQ(r.received, r.written) << sc.name;
    EXPECT_EQ(r.dropped, 0u) << sc.name;
    EXPECT_EQ(r.gaps, 0u) << sc.name;
    EXPECT_EQ(r.resyncs, 0u) << sc.name;
    // Generous for a shared, loaded machine: the loop that writes is itself late at times.
    EXPECT_LT(r.err.rms_ms, 2.0) << sc.name;
    EXPECT_LT(r.err.max_ms, 8.0) << sc.name;
    if (sc.stall_at_s >= 0) {
      EXPECT_GE(r.stalls, 1u) << sc.name;
    }
  }
}

}  // namespace
}  // namespace primus::adapters
