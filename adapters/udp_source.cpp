#include "adapters/udp_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "adapters/udp_hub.h"
#include "src/core/host_port.h"

namespace primus::adapters {
namespace asio = boost::asio;
using asio::ip::udp;

namespace {

/// One registry of hubs per io_context.
class UdpHubRegistry final : public asio::execution_context::service {
 public:
  using key_type = UdpHubRegistry;
  static inline asio::execution_context::id id;
  explicit UdpHubRegistry(asio::execution_context& ctx) : service(ctx) {}
  std::map<std::string, std::weak_ptr<UdpHub>> hubs;

 private:
  void shutdown() override { hubs.clear(); }
};

}  // namespace

// ---- UdpHub ---------------------------------------------------------------------------------

UdpHub::UdpHub(asio::io_context& io, const std::string& bind, int rcvbuf_bytes,
               const TimeSource& clock)
    : socket_(io),
      clock_(clock),
      bind_(bind),
      storage_(static_cast<std::size_t>(kBatch) * kMaxDatagram) {
  const auto hp = split_host_port(bind);
  if (!hp) throw std::runtime_error("bad udp_bind " + bind);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(hp->host, ec);
  if (ec) throw std::runtime_error("bad udp_bind " + bind + ": " + ec.message());
  const udp::endpoint ep(addr, hp->port.value_or(0));
  socket_.open(ep.protocol(), ec);
  if (!ec && addr.is_v6()) socket_.set_option(asio::ip::v6_only(false), ec);  // IPv4 too
  if (!ec) socket_.non_blocking(true, ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) throw std::runtime_error("cannot listen on udp " + bind + ": " + ec.message());
  const int fd = socket_.native_handle();
  // SO_RCVBUFFORCE passes rmem_max when we hold CAP_NET_ADMIN; otherwise the kernel caps it.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof rcvbuf_bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  socklen_t len = sizeof rcvbuf_;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_, &len);
  for (int i = 0; i < kBatch; ++i) {
    iov_[i].iov_base = storage_.data() + static_cast<std::size_t>(i) * kMaxDatagram;
    iov_[i].iov_len = kMaxDatagram;
  }
}

UdpHub::~UdpHub() {
  boost::system::error_code ec;
  socket_.close(ec);
}

bool UdpHub::parse_sender(const std::string& s, SenderKey& k) {
  const auto hp = split_host_port(s);
  if (!hp) return false;
  k.port = hp->port.value_or(0);  // 0: any port of that address
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(hp->host, ec);
  if (ec) return false;
  if (a.is_v4()) {
    k.addr = asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
  } else {
    k.addr = a.to_v6().to_bytes();
  }
  return true;
}

UdpHub::SenderKey UdpHub::key_of(const sockaddr_storage& ss) noexcept {
  SenderKey k;
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    k.addr[10] = 0xFF;
    k.addr[11] = 0xFF;
    std::memcpy(k.addr.data() + 12, &a.sin_addr, 4);
    k.port = ntohs(a.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    std::memcpy(k.addr.data(), &a.sin6_addr, 16);
    k.port = ntohs(a.sin6_port);
  }
  return k;
}

void UdpHub::attach(UdpSource* s, const DeviceConfig& dev) {
  if (dev.id_from == IdFrom::kSender) {
    SenderKey k;
    if (!parse_sender(dev.udp_sender, k))
      throw std::runtime_error("bad udp_sender " + dev.udp_sender);
    if (!by_sender_.emplace(k, s).second)
      throw std::runtime_error("udp_sender " + dev.udp_sender + " already used on " + bind_);
  } else {
    if (!by_id_.emplace(static_cast<std::uint32_t>(dev.device_id), s).second)
      throw std::runtime_error("device_id " + std::to_string(dev.device_id) + " already used on " +
                               bind_);
    if (!payload_decoder_) payload_decoder_ = make_decoder(dev, codecs::Sync::kAligned);
  }
  if (!armed_) arm();
}

void UdpHub::detach(UdpSource* s) noexcept {
  for (auto it = by_sender_.begin(); it != by_sender_.end();)
    it = it->second == s ? by_sender_.erase(it) : std::next(it);
  for (auto it = by_id_.begin(); it != by_id_.end();)
    it = it->second == s ? by_id_.erase(it) : std::next(it);
}

void UdpHub::arm() {
  armed_ = true;
  std::weak_ptr<UdpHub> weak = weak_from_this();
  socket_.async_wait(udp::socket::wait_read, [weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->armed_ = false;
    if (ec) return;  // closed
    self->drain();
    if (self->socket_.is_open()) self->arm();
  });
}

void UdpHub::drain() {
  const int fd = socket_.native_handle();
  int total = 0;
  while (total < kMaxPerWake) {
    for (int i = 0; i < kBatch; ++i) {
      msgs_[i].msg_hdr = msghdr{};
      msgs_[i].msg_hdr.msg_name = &from_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_len = 0;
    }
    const int n = ::recvmmsg(fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: empty; anything else (ICMP errors on a UDP socket) is not ours to fix
    }
    const std::int64_t now = clock_.now_ns();
    for (int i = 0; i < n; ++i) {
      dispatch(static_cast<const std::uint8_t*>(iov_[i].iov_base), msgs_[i].msg_len, from_[i],
               (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, now);
    }
    total += n;
    if (n < kBatch) return;
  }
}

void UdpHub::dispatch(const std::uint8_t* data, std::size_t n, const sockaddr_storage& from,
                      bool truncated, std::int64_t now) {
  if (!by_sender_.empty()) {
    SenderKey k = key_of(from);
    auto it = by_sender_.find(k);
    if (it == by_sender_.end()) {
      k.port = 0;
      it = by_sender_.find(k);
    }
    if (it != by_sender_.end()) {
      if (truncated) {
        ++unrouted_;
        return;
      }
      it->second->deliver_datagram({data, n}, now);
      return;
    }
  }
  if (!payload_decoder_ || truncated) {
    ++unrouted_;
    return;
  }
  payload_decoder_->reset(codecs::Sync::kAligned);
  auto route = [&](const codecs::Decoded& d) {
    const auto it = d.has_device_id ? by_id_.find(d.device_id) : by_id_.end();
    if (it == by_id_.end()) {
      ++unrouted_;
      return;
    }
    it->second->deliver(d, now);
  };
  payload_decoder_->feed({data, n}, route);
  payload_decoder_->finish(route);
  // Frames that failed to decode carried no trustworthy id: they are the socket's, not a device's.
  const auto dropped = payload_decoder_->counters().dropped_total();
  unrouted_ += dropped - payload_drops_seen_;
  payload_drops_seen_ = dropped;
}

std::shared_ptr<UdpHub> udp_hub_for(asio::io_context& io, const std::string& bind, int rcvbuf_bytes,
                                    const TimeSource& clock) {
  auto& reg = asio::use_service<UdpHubRegistry>(io);
  auto& slot = reg.hubs[bind];
  if (auto hub = slot.lock()) return hub;
  auto hub = std::make_shared<UdpHub>(io, bind, rcvbuf_bytes, clock);
  slot = hub;
  return hub;
}

// ---- UdpSource ------------------------------------------------------------------------------

UdpSource::UdpSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : dev_(dev),
      index_(index),
      ctx_(std::move(ctx)),
      hub_(udp_hub_for(ctx_.io, dev.udp_bind, dev.udp_rcvbuf_bytes, ctx_.clock)),
      idle_timer_(ctx_.io),
      idle_ns_(static_cast<std::int64_t>(dev.idle_timeout_s * 1e9)) {
  if (dev.id_from == IdFrom::kSender)
    own_path_ = std::make_unique<DecodePath>(dev, index, codecs::Sync::kAligned);
  hub_->attach(this, dev_);
}

UdpSource::~UdpSource() { hub_->detach(this); }

int UdpSource::rcvbuf_bytes() const noexcept { return hub_->rcvbuf_bytes(); }

const SourceStats& UdpSource::stats() const {
  if (own_path_) own_path_->fill(stats_);
  stats_.unrouted = hub_->unrouted();
  return stats_;
}

void UdpSource::start() {
  running_ = true;
  const std::string from = dev_.id_from == IdFrom::kSender
                               ? "datagrams from " + dev_.udp_sender
                               : "device id " + std::to_string(dev_.device_id);
  if (ctx_.on_state)
    ctx_.on_state(SourceState::kConnecting, "listening on udp " + dev_.udp_bind + " for " + from +
                                                " (receive buffer " +
                                                std::to_string(hub_->rcvbuf_bytes()) + " bytes)");
  arm_idle();
}

void UdpSource::stop() {
  running_ = false;
  idle_timer_.cancel();
}

void UdpSource::mark_rx(std::int64_t t) {
  last_rx_ns_ = t;
  if (receiving_) return;
  receiving_ = true;
  if (lost_since_ns_ >= 0) {
    ++stats_.reconnects;
    stats_.last_outage_ns = t - lost_since_ns_;
    stats_.downtime_ns += stats_.last_outage_ns;
    lost_since_ns_ = -1;
  }
  if (ctx_.on_state) ctx_.on_state(SourceState::kConnected, "receiving on udp " + dev_.udp_bind);
}

void UdpSource::deliver(const codecs::Decoded& d, std::int64_t t_host_ns) {
  if (!running_) return;
  mark_rx(t_host_ns);
  Sample s = d.sample;
  s.device = index_;
  s.t_host_ns = t_host_ns;
  ++stats_.samples;
  ctx_.on_sample(s);
}

void UdpSource::deliver_datagram(std::span<const std::uint8_t> bytes, std::int64_t t_host_ns) {
  if (!running_) return;
  stats_.bytes += bytes.size();
  own_path_->reset(codecs::Sync::kAligned);
  auto sink = [&](const Sample& s) {
    if (!running_) return;
    mark_rx(t_host_ns);
    ++stats_.samples;
    ctx_.on_sample(s);
  };
  own_path_->feed(bytes, t_host_ns, sink);
  own_path_->finish(t_host_ns, sink);
}

void UdpSource::arm_idle() {
  if (idle_ns_ <= 0) return;
  idle_timer_.expires_after(
      std::chrono::nanoseconds(std::max<std::int64_t>(idle_ns_ / 4, 10'000'000)));
  idle_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    const std::int64_t now = ctx_.clock.now_ns();
    if (receiving_ && now - last_rx_ns_ > idle_ns_) {
      receiving_ = false;
      ++stats_.outages;
      lost_since_ns_ = last_rx_ns_;
      char buf[64];
      std::snprintf(buf, sizeof buf, "no datagrams for %.1f s", (now - last_rx_ns_) * 1e-9);
      if (ctx_.on_state) ctx_.on_state(SourceState::kLost, buf);
    }
    arm_idle();
  });
}

}  // namespace primus::adapters
