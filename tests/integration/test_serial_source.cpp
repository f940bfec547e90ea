// Serial adapter through real pseudo-terminals: frames written on the far end arrive as samples;
// garbage and arbitrary chunking are survived; unplugging and replugging the far end mid-stream
// makes the adapter reconnect with capped exponential backoff and count the outage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <random>
#include <vector>

#include "adapters/codecs/native_frame.h"
#include "adapters/serial_source.h"
#include "adapters/source.h"
#include "pty_helpers.h"

namespace primus::adapters {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::run_until;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "primus_serial_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::uint8_t> frames(std::uint32_t first, int n, std::uint16_t id = 1) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < n; ++i) {
    codecs::native::Frame f;
    f.device_id = id;
    f.seq = first + static_cast<std::uint32_t>(i);
    f.t_device_us = 5'000'000 + 10'000ull * f.seq;
    f.acc[2] = 9.81f;
    f.gyro[0] = 0.01f * static_cast<float>(f.seq);
    std::uint8_t buf[codecs::native::kMaxWire];
    out.insert(out.end(), buf, buf + codecs::native::encode(f, buf));
  }
  return out;
}

struct Harness {
  TempDir dir;
  boost::asio::io_context io;
  std::vector<Sample> samples;
  std::vector<std::pair<SourceState, std::string>> states;
  std::unique_ptr<Source> src;

  DeviceConfig device(const fs::path& port) {
    DeviceConfig d;
    d.id = "wrist";
    d.adapter = AdapterKind::kSerial;
    d.codec = CodecKind::kNative;
    d.path = port.string();
    d.baud = 921600;
    d.reconnect_min_s = 0.05;
    d.reconnect_max_s = 0.4;
    d.idle_timeout_s = 0;
    return d;
  }
  void make(const DeviceConfig& d) {
    src = make_source(
        d, 2,
        SourceContext{
            io, SteadyTimeSource::instance(), [this](const Sample& s) { samples.push_back(s); },
            [this](SourceState s, const std::string& why) { states.emplace_back(s, why); }});
  }
  bool in_state(SourceState s) const { return !states.empty() && states.back().first == s; }
};

TEST(SerialSource, FramesOnAPtyArriveAsSamples) {
  Harness h;
  test::FakeSerialDevice dev(h.dir.path / "usb-primus-if00");
  h.make(h.device(dev.link()));
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }))
      << h.states.size();
  std::vector<std::uint8_t> bytes{0x00};
  const auto f = frames(0, 200);
  bytes.insert(bytes.end(), f.begin(), f.end());
  dev.write(bytes, h.io);
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= 200; }));
  for (std::uint32_t i = 0; i < 200; ++i) {
    ASSERT_EQ(h.samples[i].seq, i);
    EXPECT_EQ(h.samples[i].device, 2u);
    EXPECT_EQ(h.samples[i].t_device_us, 5'000'000 + 10'000 * i);
    EXPECT_FLOAT_EQ(h.samples[i].gyro[0], 0.01f * static_cast<float>(i));
    EXPECT_GT(h.samples[i].t_host_ns, 0);
  }
  EXPECT_EQ(h.src->stats().samples, 200u);
  EXPECT_EQ(h.src->stats().bytes, bytes.size());
  EXPECT_EQ(h.src->stats().decode_errors, 0u);
  h.src->stop();
}

TEST(SerialSource, GarbageAndRandomChunksOverARealPort) {
  Harness h;
  test::FakeSerialDevice dev(h.dir.path / "ttyX");
  auto d = h.device(dev.link());
  d.device_id = 1;
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  std::mt19937 rng(7);
  std::vector<std::uint8_t> bytes{0x42, 0x13, 0x00};  // the tail of a frame sent before we listened
  int good = 0;
  for (int i = 0; i < 300; ++i) {
    const auto f = frames(static_cast<std::uint32_t>(i), 1,
                          i % 10 == 0 ? 2 : 1);  // every 10th: another device
    bytes.insert(bytes.end(), f.begin(), f.end());
    good += i % 10 == 0 ? 0 : 1;
    if (i % 7 == 0) {  // line noise: random non-zero bytes, then a delimiter
      for (int k = 0; k < 5; ++k) bytes.push_back(static_cast<std::uint8_t>(1 + rng() % 255));
      bytes.push_back(0);
    }
  }
  for (std::size_t off = 0; off < bytes.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 97, bytes.size() - off);
    dev.write({bytes.data() + off, n}, h.io);
    off += n;
    h.io.run_for(0ms);
  }
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= static_cast<std::size_t>(good); }));
  h.io.run_for(50ms);
  EXPECT_EQ(h.samples.size(), static_cast<std::size_t>(good));
  const auto& st = h.src->stats();
  EXPECT_EQ(st.drops[static_cast<int>(codecs::DropReason::kUnknownDevice)], 30u);
  EXPECT_EQ(st.drops[static_cast<int>(codecs::DropReason::kGarbage)], 1u);
  EXPECT_EQ(st.drops[static_cast<int>(codecs::DropReason::kBadChecksum)] +
                st.drops[static_cast<int>(codecs::DropReason::kTruncated)],
            43u);  // 43 noise runs: none passes the CRC
  h.src->stop();
}

TEST(SerialSource, UnplugAndReplugMidStreamReconnectsWithBackoffAndCountsTheOutage) {
  Harness h;
  auto dev = std::make_unique<test::FakeSerialDevice>(h.dir.path / "usb-primus-if00");
  h.make(h.device(dev->link()));
  auto* serial = dynamic_cast<SerialSource*>(h.src.get());
  ASSERT_NE(serial, nullptr);
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  std::vector<std::uint8_t> first{0x00};
  const auto f1 = frames(0, 50);
  first.insert(first.end(), f1.begin(), f1.end());
  dev->write(first, h.io);
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= 50; }));

  const auto t_unplug = std::chrono::steady_clock::now();
  dev->unplug();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kLost); }));
  // Stay unplugged until the adapter has retried several times, each wait doubling to the cap.
  ASSERT_TRUE(run_until(h.io, [&] { return serial->backoff().attempts() >= 5; }));
  const int attempts = serial->backoff().attempts();
  dev->plug();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  const auto t_back = std::chrono::steady_clock::now();
  dev->write(frames(50, 50), h.io);  // a device restarts its stream with a delimiter anyway
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= 99; }));
  h.io.run_for(50ms);

  // The first frame after reconnecting is skipped while the decoder hunts for a delimiter.
  ASSERT_EQ(h.samples.size(), 99u);
  EXPECT_EQ(h.samples[49].seq, 49u);
  EXPECT_EQ(h.samples[50].seq, 51u);
  EXPECT_EQ(h.samples.back().seq, 99u);
  const auto& st = h.src->stats();
  EXPECT_EQ(st.outages, 1u);
  EXPECT_EQ(st.reconnects, 1u);
  EXPECT_GT(st.last_outage_ns, 0);
  EXPECT_EQ(st.downtime_ns, st.last_outage_ns);
  EXPECT_EQ(st.drops[static_cast<int>(codecs::DropReason::kGarbage)], 1u);
  ASSERT_GE(h.states.size(), 4u);
  EXPECT_EQ(h.states[0].first, SourceState::kConnecting);
  EXPECT_EQ(h.states[1].first, SourceState::kConnected);
  EXPECT_EQ(h.states[2].first, SourceState::kLost);
  EXPECT_NE(h.states[2].second.find("serial port"), std::string::npos) << h.states[2].second;
  EXPECT_EQ(h.states[3].first, SourceState::kConnected);
  EXPECT_EQ(h.states.size(), 4u);  // one "lost" per outage, not one per retry
  std::cout << "[ serial ] outage " << st.last_outage_ns / 1e6 << " ms (unplugged for "
            << std::chrono::duration<double, std::milli>(t_back - t_unplug).count() << " ms), "
            << attempts << " retries before replug, lost reason: " << h.states[2].second << "\n";
  h.src->stop();
}

TEST(SerialSource, AbsentPortAtStartIsRetriedUntilItAppears) {
  Harness h;
  const fs::path link = h.dir.path / "later";
  h.make(h.device(link));
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kLost); }));
  EXPECT_NE(h.states.back().second.find("No such file"), std::string::npos)
      << h.states.back().second;
  test::FakeSerialDevice dev(link);
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  std::vector<std::uint8_t> b{0x00};
  const auto f = frames(0, 3);
  b.insert(b.end(), f.begin(), f.end());
  dev.write(b, h.io);
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= 3; }));
  EXPECT_EQ(h.src->stats().outages, 0u);  // never had a link, so nothing was lost
  h.src->stop();
}

TEST(SerialSource, SilenceBeyondIdleTimeoutReopensThePort) {
  Harness h;
  test::FakeSerialDevice dev(h.dir.path / "quiet");
  auto d = h.device(dev.link());
  d.idle_timeout_s = 0.3;
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kLost); }));
  EXPECT_NE(h.states.back().second.find("no data for"), std::string::npos)
      << h.states.back().second;
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  EXPECT_EQ(h.src->stats().outages, 1u);
  EXPECT_EQ(h.src->stats().reconnects, 1u);
  h.src->stop();
}

TEST(SerialSource, CsvLinesOverSerial) {
  Harness h;
  test::FakeSerialDevice dev(h.dir.path / "arduino");
  auto d = h.device(dev.link());
  d.codec = CodecKind::kCsv;
  d.csv_columns = {"t_ms", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"};
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(h.io, [&] { return h.in_state(SourceState::kConnected); }));
  std::string text = "\n";  // a newline first: the decoder syncs on it
  for (int i = 0; i < 100; ++i) text += std::to_string(i * 10) + ",0.01,0.02,1.0,1.5,-2.5,0\r\n";
  dev.write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, h.io);
  ASSERT_TRUE(run_until(h.io, [&] { return h.samples.size() >= 100; }));
  EXPECT_EQ(h.samples[99].t_device_us, 990'000);
  EXPECT_FLOAT_EQ(h.samples[99].gyro[1], -2.5f);
  EXPECT_EQ(h.src->stats().decode_errors, 0u);
  h.src->stop();
}

}  // namespace
}  // namespace primus::adapters
