// BLE adapter against a fake BlueZ (python-dbusmock's bluez5 template plus GATT objects) on a
// private dbus-daemon the helper starts; the adapter reaches it through DBUS_SYSTEM_BUS_ADDRESS.
// Connect + command write, notifications that split and merge frames, link loss, reconnect.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/codecs/native_frame.h"
#include "adapters/link_source.h"
#include "adapters/source.h"
#include "pty_helpers.h"
#include "src/signal/device_pipeline.h"
#include "tests/unit/signal/timing_scenarios.h"

extern char** environ;

namespace primus::adapters {
namespace {
using namespace std::chrono_literals;
using test::run_until;

/// The fake_bluez.py helper process, spoken to over its stdin/stdout.
class FakeBluez {
 public:
  FakeBluez() {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    const std::string script = std::string(PRIMUS_SOURCE_DIR) + "/tests/integration/fake_bluez.py";
    char* argv[] = {const_cast<char*>("/usr/bin/python3"), const_cast<char*>(script.c_str()),
                    nullptr};
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    const std::string ready = line(120s);
    if (ready.rfind("ready ", 0) != 0)
      throw std::runtime_error("fake BlueZ did not start: " + ready);
    address_ = ready.substr(6);
  }
  ~FakeBluez() {
    if (to_ >= 0) ::close(to_);  // end of input: the helper stops the mock and its bus
    if (pid_ > 0) {
      for (int i = 0; i < 200; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(25ms);
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    if (from_ >= 0) ::close(from_);
  }
  /// Sends a command, returns the answer after "ok " (throws on "error").
  std::string command(const std::string& cmd) {
    const std::string l = cmd + "\n";
    if (::write(to_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
      throw std::runtime_error("write to helper");
    const std::string r = line(60s);
    if (r.rfind("ok", 0) != 0) throw std::runtime_error(cmd + ": " + r);
    return r.size() > 3 ? r.substr(3) : "";
  }
  [[nodiscard]] const std::string& address() const { return address_; }

 private:
  std::string line(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "(timeout)";
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char b[4096];
      const auto n = ::read(from_, b, sizeof b);
      if (n <= 0) return "(helper exited)";
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buf_;
  std::string address_;
};

std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += {d[p[i] >> 4], d[p[i] & 15]};
  return s;
}

std::vector<std::uint8_t> frames(std::uint32_t first, int n) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < n; ++i) {
    codecs::native::Frame f;
    f.fields = codecs::native::kFieldAcc | codecs::native::kFieldQuat;
    f.device_id = 9;
    f.seq = first + static_cast<std::uint32_t>(i);
    f.t_device_us = 20'000ull * f.seq;
    f.acc[0] = static_cast<float>(f.seq);
    std::uint8_t buf[codecs::native::kMaxWire];
    out.insert(out.end(), buf, buf + codecs::native::encode(f, buf));
  }
  return out;
}

struct BleHarness {
  FakeBluez bluez;
  boost::asio::io_context io;
  std::vector<Sample> samples;
  std::vector<std::pair<SourceState, std::string>> states;
  std::unique_ptr<Source> src;

  BleHarness() { ::setenv("DBUS_SYSTEM_BUS_ADDRESS", bluez.address().c_str(), 1); }
  ~BleHarness() {
    if (src) src->stop();
    src.reset();
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
  static DeviceConfig device() {
    DeviceConfig d;
    d.id = "band";
    d.adapter = AdapterKind::kBle;
    d.codec = CodecKind::kNative;
    d.ble_address = "AA:BB:CC:DD:EE:01";
    d.ble_service_uuid = "0000ffe5-0000-1000-8000-00805f9b34fb";
    d.ble_char_uuid = "0000ffe4-0000-1000-8000-00805f9b34fb";
    d.reconnect_min_s = 0.05;
    d.reconnect_max_s = 0.5;
    d.idle_timeout_s = 0;
    d.ble_connect_timeout_s = 20;
    return d;
  }
  void make(const DeviceConfig& d) {
    src = make_source(
        d, 1,
        SourceContext{
            io, SteadyTimeSource::instance(), [this](const Sample& s) { samples.push_back(s); },
            [this](SourceState s, const std::string& why) { states.emplace_back(s, why); }});
  }
  bool in_state(SourceState s) const { return !states.empty() && states.back().first == s; }
  std::string last_detail() const { return states.empty() ? "(none)" : states.back().second; }
  /// Sends bytes as notifications of random sizes (1..20 bytes split frames; up to 90 merge them).
  void notify(const std::vector<std::uint8_t>& b, std::mt19937& rng) {
    for (std::size_t off = 0; off < b.size();) {
      const std::size_t n =
          std::min<std::size_t>(rng() % 3 == 0 ? 40 + rng() % 50 : 1 + rng() % 20, b.size() - off);
      bluez.command("notify " + hex(b.data() + off, n));
      off += n;
      io.run_for(0ms);
    }
  }
};

TEST(BleSource, ConnectsWritesTheCommandAndReassemblesNotifications) {
  BleHarness h;
  auto d = BleHarness::device();
  d.ble_write_uuid = "0000ffe9-0000-1000-8000-00805f9b34fb";
  d.ble_write_bytes = {0xff, 0xaa, 0x03, 0x08, 0x00};
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
  EXPECT_NE(h.last_detail().find("AA:BB:CC:DD:EE:01"), std::string::npos) << h.last_detail();
  EXPECT_EQ(h.bluez.command("written"), "ffaa030800");
  EXPECT_EQ(h.bluez.command("connects"), "1");

  std::mt19937 rng(3);
  h.notify(frames(0, 40), rng);
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.samples.size() >= 40; }, 60s))
      << h.samples.size();
  for (std::uint32_t i = 0; i < 40; ++i) {
    ASSERT_EQ(h.samples[i].seq, i);
    EXPECT_FLOAT_EQ(h.samples[i].acc[0], static_cast<float>(i));
    EXPECT_TRUE(h.samples[i].has(kFieldQuat));
  }
  EXPECT_EQ(h.src->stats().decode_errors, 0u);
}

TEST(BleSource, LinkLossReconnectsAndCountsTheOutage) {
  BleHarness h;
  h.make(BleHarness::device());
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
  std::mt19937 rng(5);
  h.notify(frames(0, 10), rng);
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.samples.size() >= 10; }, 60s));

  const auto t0 = std::chrono::steady_clock::now();
  h.bluez.command("disconnect");
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kLost); }, 60s))
      << h.last_detail();
  EXPECT_NE(h.last_detail().find("disconnected"), std::string::npos) << h.last_detail();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(h.bluez.command("connects"), "2");
  h.notify(frames(10, 10), rng);
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.samples.size() >= 20; }, 60s));
  EXPECT_EQ(h.samples.back().seq, 19u);
  const auto& st = h.src->stats();
  EXPECT_EQ(st.outages, 1u);
  EXPECT_EQ(st.reconnects, 1u);
  EXPECT_GT(st.last_outage_ns, 0);
  EXPECT_EQ(st.decode_errors, 0u);
  std::cout << "[ ble ] link loss to notifications again: "
            << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms, outage counted "
            << st.last_outage_ns / 1e6 << " ms\n";
}

TEST(BleSource, StopFromASampleCallbackDeliversNothingMore) {
  BleHarness h;
  auto d = BleHarness::device();
  h.src = make_source(d, 1,
                      SourceContext{h.io, SteadyTimeSource::instance(),
                                    [&h](const Sample& s) {
                                      h.samples.push_back(s);
                                      if (h.samples.size() == 3) h.src->stop();
                                    },
                                    [&h](SourceState s, const std::string& why) {
                                      h.states.emplace_back(s, why);
                                    }});
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
  std::vector<std::uint8_t> ten = frames(0, 10);
  h.bluez.command("notify " + hex(ten.data(), ten.size()));  // ten frames in one notification
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.samples.size() >= 3; }, 60s));
  h.bluez.command("notify " + hex(ten.data(), ten.size()));
  h.io.run_for(200ms);
  EXPECT_EQ(h.samples.size(), 3u);
}

TEST(BleSource, FindsTheDeviceByName) {
  BleHarness h;
  auto d = BleHarness::device();
  d.ble_address.clear();
  d.ble_name = "PrimusBand";
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
}

TEST(BleSource, WrongCharacteristicFailsTheAttemptAndKeepsRetrying) {
  BleHarness h;
  auto d = BleHarness::device();
  d.ble_char_uuid = "0000abcd-0000-1000-8000-00805f9b34fb";
  h.make(d);
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kLost); }, 60s))
      << h.last_detail();
  EXPECT_NE(h.last_detail().find("has no characteristic 0000abcd"), std::string::npos)
      << h.last_detail();
  // The adapter keeps trying after the backoff, reporting the loss once.
  auto* link = dynamic_cast<LinkSource*>(h.src.get());
  ASSERT_NE(link, nullptr);
  ASSERT_TRUE(run_until(
      h.io, [&] { return link->backoff().attempts() >= 3; }, 60s));
  EXPECT_EQ(h.states.size(), 2u);               // connecting, lost
  EXPECT_EQ(h.bluez.command("connects"), "1");  // later attempts find it still connected
}

}  // namespace
}  // namespace primus::adapters

namespace primus::adapters {
namespace {

// A BLE sensor without a clock (CSV lines, no time column, no sequence number) at 100 Hz whose
// samples come in connection events every 30 ms, several notifications back to back per event:
// none is dropped, and the sample clock places them at their spacing.
TEST(BleSource, SeveralNotificationsPerConnectionIntervalKeepTheirSpacing) {
  BleHarness h;
  auto d = BleHarness::device();
  d.codec = CodecKind::kCsv;
  d.csv_columns = {"acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"};
  WindowConfig w;
  w.rate_hz = 50.0;
  w.length = 125;
  w.hop = 25;
  signal::DevicePipeline pipe(d, w, 0);
  std::vector<std::int64_t> placed, arrived;
  h.src = make_source(
      d, 1,
      SourceContext{h.io, SteadyTimeSource::instance(),
                    [&](const Sample& s) {
                      const auto used = pipe.counters().samples_used;
                      pipe.push(s, [](Window&&) {});
                      if (pipe.counters().samples_used == used) return;
                      placed.push_back(pipe.last_sample_ns());
                      arrived.push_back(s.t_host_ns);
                    },
                    [&](SourceState s, const std::string& why) { h.states.emplace_back(s, why); }});
  h.src->start();
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.in_state(SourceState::kConnected); }, 60s))
      << h.last_detail();
  h.bluez.command("notify 0a");  // a newline first: the decoder syncs on it
  h.io.run_for(50ms);

  test::TimingScenario sc;
  sc.name = "BLE 30 ms, fake BlueZ";
  sc.delivery = test::Delivery::kBle;
  sc.chunk_s = 0.030;
  sc.ble_per_event = 8;
  sc.duration_s = 7.0;
  const auto arr = test::make_arrivals(sc);
  const std::int64_t t0 = SteadyTimeSource::instance().now_ns() + 20'000'000;
  std::vector<std::int64_t> truth;
  std::size_t i = 0;
  while (i < arr.size()) {
    const double first = arr[i].t_arrival_s;
    const std::int64_t at = t0 + std::llround(first * 1e9);
    std::string cmd = "burst";
    for (; i < arr.size() && arr[i].t_arrival_s - first < 5e-3; ++i) {
      const std::string line = std::to_string(0.01 * arr[i].t_true_s) + ",0.02,1.0," +
                               std::to_string(arr[i].t_true_s) + ",-2.5,0\n";
      cmd += " " + hex(reinterpret_cast<const std::uint8_t*>(line.data()), line.size());
      truth.push_back(t0 + std::llround(arr[i].t_true_s * 1e9));
    }
    while (SteadyTimeSource::instance().now_ns() < at) h.io.run_for(1ms);
    h.bluez.command(cmd);
    h.io.run_for(0ms);
  }
  ASSERT_TRUE(run_until(
      h.io, [&] { return pipe.counters().samples_in >= truth.size(); }, 30s))
      << pipe.counters().samples_in << " of " << truth.size();
  const auto& c = pipe.counters();
  EXPECT_EQ(c.samples_in - c.samples_used, 0u);
  EXPECT_EQ(c.gaps_bridged + c.gaps_reset, 0u);
  EXPECT_EQ(c.timing_resyncs, 0u);
  // Error against the true sample times, less the least latency the fake link showed.
  double lat = 1e18;
  for (std::size_t k = 0; k < placed.size(); ++k)
    lat = std::min(lat, static_cast<double>(arrived[k] - truth[k]));
  test::ErrorStats e;
  for (std::size_t k = 0; k < placed.size(); ++k)
    if (truth[k] - t0 > 2'000'000'000)
      e.add((static_cast<double>(placed[k] - truth[k]) - lat) * 1e-9);
  e.finish();
  std::printf(
      "[ timing ] fake BlueZ, 30 ms interval, %zu samples: err RMS %.3f max %.3f ms | dropped "
      "%llu stalls %llu | rate %.3f Hz\n",
      truth.size(), e.rms_ms, e.max_ms,
      static_cast<unsigned long long>(c.samples_in - c.samples_used),
      static_cast<unsigned long long>(c.timing_stalls), pipe.sample_clock().rate_hz());
  EXPECT_LT(e.rms_ms, 3.0);
  EXPECT_LT(e.max_ms, 10.0);
}

}  // namespace
}  // namespace primus::adapters
