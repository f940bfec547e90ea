#pragma once
// Samples from an MQTT topic (ESP32 + MPU6050 / BNO055 firmwares publishing IMU samples): the
// device's `mqtt_topic` filter is subscribed on the daemon's one broker connection
// (SourceContext::mqtt, [mqtt]) at `mqtt_qos`; each message is one self-contained unit for the
// device's codec (json: one object or an array of objects; csv: one or more lines, the last '\n'
// optional; native: one or more frames), decoded by the same DecodePath as UDP datagrams, with
// the same drop counters. Retained messages (an old sample kept by the broker) are ignored.
//
// Timing: each message's samples get the message's arrival time (t_host_ns, stamped on the link
// thread when it arrives); the pipeline's sample clock (`timing`) does the rest, as for UDP.
//
// States: kConnecting (subscribed) at start(), kConnected at the first sample, kLost after
// idle_timeout_s without samples (the sensor or the broker went away; the link reconnects with
// backoff on its own), kConnected again when they resume (counted as an outage and a reconnect).
//
// Threads: constructed, started, stopped and destroyed on the io thread. Messages arrive on the
// link thread, which copies them and posts them to the io thread; at most kMaxBacklog wait
// there, more are dropped and counted (SourceStats::backlog_dropped), so a stalled io thread
// cannot make the link thread queue without bound. Construction throws std::runtime_error when
// there is no broker connection.
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "adapters/decode_path.h"
#include "adapters/source.h"

namespace primus::adapters {

class MqttSource final : public Source {
 public:
  static constexpr std::size_t kMaxBacklog = 1024;

  MqttSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  ~MqttSource() override;
  void start() override;
  void stop() override;
  [[nodiscard]] const SourceStats& stats() const override;

 private:
  struct Shared;
  void on_message(std::span<const std::uint8_t> bytes, std::int64_t t_host_ns);
  void mark_rx(std::int64_t t_host_ns);
  void arm_idle();

  DeviceConfig dev_;
  SourceContext ctx_;
  DecodePath path_;
  std::shared_ptr<Shared> shared_;
  int sub_id_ = 0;
  boost::asio::steady_timer idle_timer_;
  bool running_ = false;
  bool receiving_ = false;
  std::int64_t last_rx_ns_ = 0;
  std::int64_t lost_since_ns_ = -1;
  std::int64_t idle_ns_;
  mutable SourceStats stats_;
};

}  // namespace primus::adapters
