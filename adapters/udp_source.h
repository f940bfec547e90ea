#pragma once
// UDP listener for phone apps and gateways: many devices on one socket.
//
// Every [[devices]] entry with the same udp_bind shares one socket (one per io_context and
// address, kept by an io_context service and closed when its last device is destroyed). Each
// datagram is self-contained: it holds one or more frames of the codec (native frames each
// ending in 0x00, the last delimiter optional; CSV lines, the last '\n' optional; WitMotion
// frames), and no frame continues into the next datagram.
//
// Routing (DeviceConfig::id_from):
//   sender  - datagrams from udp_sender (ADDRESS, or ADDRESS:PORT which wins over ADDRESS) go to
//             that device, decoded with its own codec; its device_id, if set, filters frames;
//   payload - datagrams from other senders are decoded with the socket's payload codec and each
//             frame goes to the device whose device_id equals the frame's id (native header,
//             CSV `device` column).
// Frames nobody claims, and payload datagrams that fail to decode before an id is known, are
// counted in SourceStats::unrouted (shared by the socket's devices).
//
// States: kConnecting (listening) at start(), kConnected at the first frame, kLost after
// idle_timeout_s without frames, kConnected again when they resume (counted as an outage).
// Receive path: async_wait for readability, then recvmmsg(2) up to 32 datagrams at a time
// (at most 9216 bytes each; longer ones are dropped as kBadLength) until the socket is empty or
// 256 datagrams were read, then yield to other handlers. SO_RCVBUF is asked for as
// udp_rcvbuf_bytes (SO_RCVBUFFORCE when privileged).
//
// Threads: io thread only. Construction binds the socket and throws std::runtime_error naming
// the address on failure (address in use, not local).
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "adapters/decode_path.h"
#include "adapters/source.h"

namespace primus::adapters {

class UdpHub;

class UdpSource final : public Source {
 public:
  UdpSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  ~UdpSource() override;
  void start() override;
  void stop() override;
  [[nodiscard]] const SourceStats& stats() const override;
  /// Receive buffer the kernel granted the socket, in bytes (reported at start()).
  [[nodiscard]] int rcvbuf_bytes() const noexcept;

  // Called by the hub (io thread).
  void deliver(const codecs::Decoded& d, std::int64_t t_host_ns);
  void deliver_datagram(std::span<const std::uint8_t> bytes, std::int64_t t_host_ns);

 private:
  void mark_rx(std::int64_t t_host_ns);
  void arm_idle();

  DeviceConfig dev_;
  std::uint32_t index_;
  SourceContext ctx_;
  std::shared_ptr<UdpHub> hub_;
  std::unique_ptr<DecodePath> own_path_;  ///< id_from = sender: this device's own codec
  boost::asio::steady_timer idle_timer_;
  bool running_ = false;
  bool receiving_ = false;
  std::int64_t last_rx_ns_ = 0;
  std::int64_t lost_since_ns_ = -1;
  std::int64_t idle_ns_;
  mutable SourceStats stats_;
};

}  // namespace primus::adapters
