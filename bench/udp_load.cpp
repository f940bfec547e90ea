// UDP ingest under load: N simulated devices (default 1000) each send native frames at R Hz
// (default 100) to one UdpSource socket on 127.0.0.1 for S seconds; reports frames sent,
// delivered and lost (per device, by sequence number), and the io thread's CPU time.
//   build-adapters/bench/udp_load [--devices 1000] [--rate 100] [--seconds 10] [--pipeline]
//                                 [--rcvbuf BYTES (default: udp_rcvbuf_bytes' default, 4 MiB)]
// --pipeline also runs each device's signal pipeline (resampling, windows) on the io thread,
// as the daemon does. Sends are spread evenly over each period (sendmmsg, 1 ms ticks).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/codecs/native_frame.h"
#include "adapters/source.h"
#include "adapters/udp_source.h"
#include "src/signal/device_pipeline.h"

using namespace primus;
namespace codecs = primus::adapters::codecs;

namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  int devices = 1000;
  double rate = 100;
  double seconds = 10;
  bool pipeline = false;
  int rcvbuf_ask = DeviceConfig{}.udp_rcvbuf_bytes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--devices" && i + 1 < argc)
      devices = std::stoi(argv[++i]);
    else if (a == "--rate" && i + 1 < argc)
      rate = std::stod(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::stod(argv[++i]);
    else if (a == "--pipeline")
      pipeline = true;
    else if (a == "--rcvbuf" && i + 1 < argc)
      rcvbuf_ask = std::stoi(argv[++i]);
    else {
      std::fprintf(
          stderr,
          "usage: %s [--devices N] [--rate HZ] [--seconds S] [--pipeline] [--rcvbuf BYTES]\n",
          argv[0]);
      return 2;
    }
  }
  // A free port on loopback.
  std::uint16_t port = 0;
  {
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(s);
  }

  boost::asio::io_context io;
  std::vector<std::uint64_t> received(devices, 0), gaps(devices, 0), windows(devices, 0);
  std::vector<std::uint32_t> last_seq(devices, 0);
  std::vector<std::unique_ptr<signal::DevicePipeline>> pipes;
  std::vector<std::unique_ptr<adapters::Source>> sources;
  WindowConfig win;
  win.length = 123;
  for (int i = 0; i < devices; ++i) {
    DeviceConfig d;
    d.id = "d" + std::to_string(i);
    d.adapter = AdapterKind::kUdp;
    d.codec = CodecKind::kNative;
    d.rate_hz = rate;
    d.device_id = i;
    d.udp_bind = "127.0.0.1:" + std::to_string(port);
    d.udp_rcvbuf_bytes = rcvbuf_ask;
    if (pipeline)
      pipes.push_back(
          std::make_unique<signal::DevicePipeline>(d, win, static_cast<std::uint32_t>(i)));
    const auto idx = static_cast<std::uint32_t>(i);
    sources.push_back(adapters::make_source(
        d, idx,
        adapters::SourceContext{io, SteadyTimeSource::instance(),
                                [&, idx](const Sample& s) {
                                  auto& n = received[idx];
                                  if (n > 0 && s.seq != last_seq[idx] + 1)
                                    gaps[idx] += s.seq - last_seq[idx] - 1;
                                  last_seq[idx] = s.seq;
                                  ++n;
                                  if (pipeline)
                                    pipes[idx]->push(s, [&, idx](Window&&) { ++windows[idx]; });
                                },
                                [](adapters::SourceState, const std::string&) {}}));
  }
  for (auto& s : sources) s->start();
  const int rcvbuf = dynamic_cast<adapters::UdpSource&>(*sources[0]).rcvbuf_bytes();

  std::atomic<bool> done{false};
  double io_cpu = 0;
  std::thread io_thread([&] {
    const double c0 = thread_cpu_s();
    while (!done.load()) io.run_for(std::chrono::milliseconds(50));
    io.run_for(std::chrono::milliseconds(500));  // drain what is still queued
    io_cpu = thread_cpu_s() - c0;
  });

  // Sender: every 1 ms tick, the devices whose turn it is send one frame each (sendmmsg).
  const int sock = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ::connect(sock, reinterpret_cast<sockaddr*>(&to), sizeof to);
  const auto total_per_device = static_cast<std::uint64_t>(seconds * rate);
  const std::uint64_t total = total_per_device * static_cast<std::uint64_t>(devices);
  const double per_ms = devices * rate / 1000.0;
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(devices) * codecs::native::kMaxWire);
  std::vector<mmsghdr> msgs(static_cast<std::size_t>(devices));
  std::vector<iovec> iov(static_cast<std::size_t>(devices));
  std::vector<std::uint32_t> seq(devices, 0);
  std::uint64_t sent = 0, send_errors = 0;
  double owed = 0;
  int next_dev = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t tick = 0; sent < total; ++tick) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(tick));
    owed += per_ms;
    int n = 0;
    while (owed >= 1.0 && sent + n < total && n < devices) {
      const int d = next_dev;
      next_dev = (next_dev + 1) % devices;
      codecs::native::Frame f;
      f.device_id = static_cast<std::uint16_t>(d);
      f.seq = seq[d]++;
      f.t_device_us = static_cast<std::uint64_t>(f.seq * 1e6 / rate);
      f.acc[2] = 9.81f;
      f.gyro[0] = 0.001f * static_cast<float>(f.seq % 100);
      std::uint8_t* p = buf.data() + static_cast<std::size_t>(n) * codecs::native::kMaxWire;
      iov[n] = {p, codecs::native::encode(f, p)};
      msgs[n] = mmsghdr{};
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      ++n;
      owed -= 1.0;
    }
    for (int off = 0; off < n;) {
      const int r = ::sendmmsg(sock, msgs.data() + off, static_cast<unsigned>(n - off), 0);
      if (r <= 0) {
        ++send_errors;
        break;
      }
      off += r;
    }
    sent += static_cast<std::uint64_t>(n);
  }
  const double send_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  io_thread.join();
  ::close(sock);

  std::uint64_t got = 0, gap = 0, wins = 0;
  for (int i = 0; i < devices; ++i) got += received[i], gap += gaps[i], wins += windows[i];
  const auto st = sources[0]->stats();
  std::printf(
      "udp_load: %d devices x %.0f Hz for %.1f s (%.1f s to send), receive buffer %d bytes%s\n",
      devices, rate, seconds, send_s, rcvbuf, pipeline ? ", with signal pipelines" : "");
  std::printf(
      "  sent %llu datagrams (%.0f/s), delivered %llu, lost %llu (%.4f%%), sequence gaps %llu, "
      "unrouted %llu, "
      "send errors %llu\n",
      static_cast<unsigned long long>(sent), sent / send_s, static_cast<unsigned long long>(got),
      static_cast<unsigned long long>(sent - got),
      100.0 * static_cast<double>(sent - got) / static_cast<double>(sent),
      static_cast<unsigned long long>(gap), static_cast<unsigned long long>(st.unrouted),
      static_cast<unsigned long long>(send_errors));
  std::printf("  io thread CPU %.2f s = %.0f%% of one core, %.2f us per datagram%s\n", io_cpu,
              100 * io_cpu / send_s, 1e6 * io_cpu / static_cast<double>(got ? got : 1),
              pipeline ? (", windows " + std::to_string(wins)).c_str() : "");
  for (auto& s : sources) s->stop();
  return sent == got ? 0 : 1;
}
