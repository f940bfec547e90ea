#pragma once
// Common life cycle of byte-stream links that can break (serial, BLE): connect, deliver bytes
// through the device's codec, notice loss (an error, the far end closing, or no bytes for
// DeviceConfig::idle_timeout_s), and retry with capped exponential backoff
// (reconnect_min_s doubling to reconnect_max_s) until it comes back or stop() is called.
//
// States reported: kConnecting at start(); kConnected on every link_up(); kLost when an
// established link breaks or the first attempts fail (once per outage, not once per retry).
// Stats: `outages` counts established links lost; `reconnects`, `downtime_ns` and
// `last_outage_ns` are updated when the link comes back.
//
// Threads: io thread only (see Source). Derived classes implement open_link()/close_link().
#include <boost/asio/steady_timer.hpp>
#include <string>

#include "adapters/backoff.h"
#include "adapters/decode_path.h"
#include "adapters/source.h"

namespace primus::adapters {

class LinkSource : public Source {
 public:
  void start() final;
  void stop() final;
  [[nodiscard]] const SourceStats& stats() const final;
  /// The delay before each retry so far in this outage (tests and logs).
  [[nodiscard]] const Backoff& backoff() const noexcept { return backoff_; }

 protected:
  /// sync_on_connect: where the byte stream starts after each connect (serial: mid-stream).
  LinkSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx,
             codecs::Sync sync_on_connect, std::string what);
  /// Begin one connection attempt; it must end (now or later) in link_up() or link_failed().
  virtual void open_link() = 0;
  /// Close the link; handlers of its pending operations must do nothing afterwards.
  virtual void close_link() noexcept = 0;

  void link_up(const std::string& detail);
  /// An attempt failed or the link broke: close it, report, retry after the backoff delay.
  void link_failed(const std::string& why);
  /// Bytes that arrived on the link.
  void on_bytes(std::span<const std::uint8_t> bytes);
  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] bool connected() const noexcept { return connected_; }

  const DeviceConfig dev_;
  SourceContext ctx_;

 private:
  void attempt();
  void arm_idle();
  void report(SourceState s, const std::string& detail);

  DecodePath path_;
  codecs::Sync sync_;
  std::string what_;  ///< "serial port /dev/ttyACM0", for messages
  Backoff backoff_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer idle_timer_;
  bool running_ = false;
  bool connected_ = false;
  bool reported_lost_ = false;
  std::int64_t lost_since_ns_ = -1;
  std::int64_t last_rx_ns_ = 0;
  std::int64_t idle_ns_;
  mutable SourceStats stats_;
};

}  // namespace primus::adapters
