// UDP adapter on 127.0.0.1: several devices on one socket, routed by the frame's device id or by
// the sender's address; unknown ids and garbage counted; silence reported as a lost link.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <string>
#include <vector>

#include "adapters/codecs/native_frame.h"
#include "adapters/source.h"
#include "adapters/udp_source.h"
#include "pty_helpers.h"

namespace primus::adapters {
namespace {
using namespace std::chrono_literals;
using test::run_until;

/// A UDP socket on 127.0.0.1 with a kernel-chosen port.
struct Client {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::uint16_t port = 0;
  Client() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Client() { ::close(fd); }
  void send(std::uint16_t to, const std::vector<std::uint8_t>& b) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to);
    ASSERT_EQ(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(b.size()));
  }
  void send(std::uint16_t to, const std::string& s) const {
    send(to, std::vector<std::uint8_t>(s.begin(), s.end()));
  }
};

/// A port nobody uses right now (bound to 0, read, released).
std::uint16_t free_port() {
  Client c;
  return c.port;
}

std::vector<std::uint8_t> frame(std::uint16_t id, std::uint32_t seq, bool delimiter = true) {
  codecs::native::Frame f;
  f.device_id = id;
  f.seq = seq;
  f.t_device_us = 1000ull * seq;
  f.acc[0] = static_cast<float>(id);
  std::vector<std::uint8_t> b(codecs::native::kMaxWire);
  b.resize(codecs::native::encode(f, b.data()));
  if (!delimiter) b.pop_back();
  return b;
}

struct UdpHarness {
  boost::asio::io_context io;
  std::map<std::uint32_t, std::vector<Sample>> got;  // by device index
  std::map<std::uint32_t, std::vector<SourceState>> states;
  std::vector<std::unique_ptr<Source>> sources;
  std::uint16_t port = free_port();

  DeviceConfig device(const std::string& id, int device_id) const {
    DeviceConfig d;
    d.id = id;
    d.adapter = AdapterKind::kUdp;
    d.codec = CodecKind::kNative;
    d.udp_bind = "127.0.0.1:" + std::to_string(port);
    d.device_id = device_id;
    d.idle_timeout_s = 0;
    return d;
  }
  void add(const DeviceConfig& d) {
    const auto i = static_cast<std::uint32_t>(sources.size());
    sources.push_back(make_source(
        d, i,
        SourceContext{io, SteadyTimeSource::instance(),
                      [this](const Sample& s) { got[s.device].push_back(s); },
                      [this, i](SourceState s, const std::string&) { states[i].push_back(s); }}));
  }
  std::size_t total() {
    std::size_t n = 0;
    for (auto& [k, v] : got) n += v.size();
    return n;
  }
};

TEST(UdpSource, SeveralDevicesOnOneSocketRoutedByFrameId) {
  UdpHarness h;
  for (int i = 0; i < 3; ++i) h.add(h.device("dev" + std::to_string(i), 10 + i));
  for (auto& s : h.sources) s->start();
  Client c;
  for (std::uint32_t k = 0; k < 50; ++k)
    for (std::uint16_t id = 10; id < 13; ++id)
      c.send(h.port, frame(id, k, k % 2 == 0));  // delimiter optional
  // A gateway datagram with frames of two devices, an unknown id, and garbage.
  auto merged = frame(12, 50);
  const auto other = frame(10, 50);
  merged.insert(merged.end(), other.begin(), other.end());
  c.send(h.port, merged);
  c.send(h.port, frame(99, 0));
  c.send(h.port, std::string("definitely not a frame"));
  ASSERT_TRUE(run_until(h.io, [&] { return h.total() >= 152; }));
  h.io.run_for(50ms);
  ASSERT_EQ(h.got[0].size(), 51u);
  ASSERT_EQ(h.got[1].size(), 50u);
  ASSERT_EQ(h.got[2].size(), 51u);
  for (std::uint32_t dev = 0; dev < 3; ++dev) {
    for (std::size_t k = 0; k < h.got[dev].size(); ++k) {
      EXPECT_EQ(h.got[dev][k].seq, k);
      EXPECT_FLOAT_EQ(h.got[dev][k].acc[0], static_cast<float>(10 + dev));
    }
    EXPECT_EQ(h.states[dev],
              (std::vector<SourceState>{SourceState::kConnecting, SourceState::kConnected}));
  }
  EXPECT_EQ(h.sources[0]->stats().unrouted, 2u);  // the unknown id and the garbage datagram
  EXPECT_EQ(h.sources[1]->stats().unrouted, 2u);  // shared by the socket's devices
  EXPECT_EQ(h.sources[0]->stats().samples, 51u);
}

TEST(UdpSource, SenderAddressRoutesToItsOwnCodec) {
  UdpHarness h;
  Client phone, other;
  h.add(h.device("byid", 1));
  auto d = h.device("phone", -1);
  d.id_from = IdFrom::kSender;
  d.udp_sender = "127.0.0.1:" + std::to_string(phone.port);
  d.codec = CodecKind::kCsv;
  d.csv_columns = {"t_ms", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"};
  h.add(d);
  for (auto& s : h.sources) s->start();
  for (int k = 0; k < 20; ++k)
    phone.send(h.port, std::to_string(k * 20) + ",0,0,9.8,0.1,0.2,0.3\n");
  phone.send(
      h.port,
      std::string("400,0,0,9.8,0.1,0.2,0.3\n420,0,0,9.8,0.1,0.2,0.3"));  // two lines, no final \n
  phone.send(h.port, std::string("oops\n"));
  other.send(h.port, frame(1, 0));  // native from another sender: payload routing
  ASSERT_TRUE(run_until(h.io, [&] { return h.got[1].size() >= 22 && h.got[0].size() >= 1; }));
  EXPECT_EQ(h.got[1].back().t_device_us, 420'000);
  EXPECT_FLOAT_EQ(h.got[1].back().gyro[2], 0.3f);
  const auto& st = h.sources[1]->stats();
  EXPECT_EQ(st.drops[static_cast<int>(codecs::DropReason::kBadValue)], 1u);
  EXPECT_EQ(st.samples, 22u);
  EXPECT_EQ(h.sources[0]->stats().unrouted, 0u);
}

TEST(UdpSource, SilenceIsALostLinkAndResumingCountsTheOutage) {
  UdpHarness h;
  auto d = h.device("dev", 1);
  d.idle_timeout_s = 0.2;
  h.add(d);
  h.sources[0]->start();
  Client c;
  c.send(h.port, frame(1, 0));
  ASSERT_TRUE(run_until(h.io, [&] { return h.got[0].size() == 1; }));
  ASSERT_TRUE(run_until(h.io, [&] { return h.states[0].back() == SourceState::kLost; }));
  c.send(h.port, frame(1, 1));
  ASSERT_TRUE(run_until(
      h.io, [&] { return h.states[0].back() == SourceState::kConnected && h.got[0].size() == 2; }));
  EXPECT_EQ(h.sources[0]->stats().outages, 1u);
  EXPECT_EQ(h.sources[0]->stats().reconnects, 1u);
  EXPECT_GT(h.sources[0]->stats().last_outage_ns, 200'000'000);
}

TEST(UdpSource, BindFailureNamesTheDeviceAndAddress) {
  UdpHarness h;
  auto d = h.device("dev", 1);
  d.udp_bind = "192.0.2.1:9";  // TEST-NET-1: not an address of this host
  try {
    h.add(d);
    FAIL() << "bound a foreign address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("device dev: cannot listen on udp 192.0.2.1:9"),
              std::string::npos)
        << e.what();
  }
}

TEST(UdpSource, StoppedDeviceReceivesNothingAndSocketIsSharedUntilTheLastGoes) {
  UdpHarness h;
  h.add(h.device("a", 1));
  h.add(h.device("b", 2));
  for (auto& s : h.sources) s->start();
  h.sources[0]->stop();
  Client c;
  c.send(h.port, frame(1, 0));
  c.send(h.port, frame(2, 0));
  ASSERT_TRUE(run_until(h.io, [&] { return h.got[1].size() == 1; }));
  h.io.run_for(20ms);
  EXPECT_TRUE(h.got[0].empty());
  // Destroying one device keeps the socket for the other.
  h.sources[0].reset();
  c.send(h.port, frame(2, 1));
  ASSERT_TRUE(run_until(h.io, [&] { return h.got[1].size() == 2; }));
}

}  // namespace
}  // namespace primus::adapters
