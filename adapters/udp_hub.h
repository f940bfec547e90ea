#pragma once
// Internal to udp_source.cpp: one UDP socket shared by the devices bound to one address, and
// the io_context service that finds it. See udp_source.h for the behaviour.
#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/codecs/codec.h"
#include "src/config/config.h"
#include "src/core/time_source.h"

namespace primus::adapters {

class UdpSource;

class UdpHub : public std::enable_shared_from_this<UdpHub> {
 public:
  static constexpr int kBatch = 32;
  static constexpr std::size_t kMaxDatagram = 9216;
  static constexpr int kMaxPerWake = 256;

  /// Binds now; throws std::runtime_error naming the address.
  UdpHub(boost::asio::io_context& io, const std::string& bind, int rcvbuf_bytes,
         const TimeSource& clock);
  ~UdpHub();
  UdpHub(const UdpHub&) = delete;
  UdpHub& operator=(const UdpHub&) = delete;

  /// Register a device's route (throws std::runtime_error on a clash). Starts receiving.
  void attach(UdpSource* s, const DeviceConfig& dev);
  void detach(UdpSource* s) noexcept;
  [[nodiscard]] std::uint64_t unrouted() const noexcept { return unrouted_; }
  [[nodiscard]] int rcvbuf_bytes() const noexcept { return rcvbuf_; }

 private:
  struct SenderKey {
    std::array<std::uint8_t, 16> addr{};  ///< IPv6, IPv4 as ::ffff:a.b.c.d
    std::uint16_t port = 0;               ///< 0: any port
    bool operator<(const SenderKey& o) const noexcept {
      return addr != o.addr ? addr < o.addr : port < o.port;
    }
  };
  static bool parse_sender(const std::string& s, SenderKey& k);
  static SenderKey key_of(const sockaddr_storage& ss) noexcept;

  void arm();
  void drain();
  void dispatch(const std::uint8_t* data, std::size_t n, const sockaddr_storage& from,
                bool truncated, std::int64_t now);

  boost::asio::ip::udp::socket socket_;
  const TimeSource& clock_;
  std::string bind_;
  int rcvbuf_ = 0;
  bool armed_ = false;
  std::map<SenderKey, UdpSource*> by_sender_;
  std::unordered_map<std::uint32_t, UdpSource*> by_id_;
  std::unique_ptr<codecs::Decoder> payload_decoder_;
  std::uint64_t unrouted_ = 0;
  std::uint64_t payload_drops_seen_ = 0;
  // recvmmsg buffers, allocated once
  std::vector<std::uint8_t> storage_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> from_{};
};

/// Finds or creates the hub for an address on an io_context (an Asio service: one registry
/// per io_context, no global state).
std::shared_ptr<UdpHub> udp_hub_for(boost::asio::io_context& io, const std::string& bind,
                                    int rcvbuf_bytes, const TimeSource& clock);

}  // namespace primus::adapters
