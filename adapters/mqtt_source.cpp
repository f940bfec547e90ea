#include "adapters/mqtt_source.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "src/mqtt/link.h"

namespace primus::adapters {

/// What the link thread's handler and the posted decode jobs share with the source.
struct MqttSource::Shared {
  bool alive = true;  ///< io thread only: false once the source is destroyed
  std::atomic<std::size_t> backlog{0};
  std::atomic<std::uint64_t> dropped{0};
};

MqttSource::MqttSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : dev_(dev),
      ctx_(std::move(ctx)),
      path_(dev, index, codecs::Sync::kAligned),
      shared_(std::make_shared<Shared>()),
      idle_timer_(ctx_.io),
      idle_ns_(static_cast<std::int64_t>(dev.idle_timeout_s * 1e9)) {
  if (!ctx_.mqtt) throw std::runtime_error("adapter mqtt needs the [mqtt] broker connection");
  std::weak_ptr<Shared> weak = shared_;
  auto& io = ctx_.io;
  const TimeSource& clock = ctx_.clock;
  sub_id_ = ctx_.mqtt->subscribe(
      dev_.mqtt_topic, dev_.mqtt_qos,
      [this, weak, &io, &clock](const std::string&, std::span<const std::uint8_t> payload,
                                bool retained) {
        auto sh = weak.lock();
        if (!sh || retained) return;
        if (sh->backlog.load() >= kMaxBacklog) {
          sh->dropped.fetch_add(1);
          return;
        }
        sh->backlog.fetch_add(1);
        const std::int64_t t = clock.now_ns();
        boost::asio::post(
            io, [this, sh, t, bytes = std::vector<std::uint8_t>(payload.begin(), payload.end())]() {
              sh->backlog.fetch_sub(1);
              if (sh->alive) on_message(bytes, t);
            });
      });
}

MqttSource::~MqttSource() {
  ctx_.mqtt->unsubscribe(sub_id_);  // the handler is not running and will not run again
  shared_->alive = false;           // jobs already posted find the source gone
}

const SourceStats& MqttSource::stats() const {
  path_.fill(stats_);
  stats_.backlog_dropped = shared_->dropped.load();
  return stats_;
}

void MqttSource::start() {
  running_ = true;
  if (ctx_.on_state)
    ctx_.on_state(SourceState::kConnecting,
                  "subscribed to mqtt " + dev_.mqtt_topic + " on " + ctx_.mqtt->broker());
  arm_idle();
}

void MqttSource::stop() {
  running_ = false;
  idle_timer_.cancel();
}

void MqttSource::on_message(std::span<const std::uint8_t> bytes, std::int64_t t_host_ns) {
  if (!running_) return;
  stats_.bytes += bytes.size();
  path_.reset(codecs::Sync::kAligned);
  auto sink = [&](const Sample& s) {
    if (!running_) return;
    mark_rx(t_host_ns);
    ++stats_.samples;
    ctx_.on_sample(s);
  };
  path_.feed(bytes, t_host_ns, sink);
  path_.finish(t_host_ns, sink);
}

void MqttSource::mark_rx(std::int64_t t) {
  last_rx_ns_ = t;
  if (receiving_) return;
  receiving_ = true;
  if (lost_since_ns_ >= 0) {
    ++stats_.reconnects;
    stats_.last_outage_ns = t - lost_since_ns_;
    stats_.downtime_ns += stats_.last_outage_ns;
    lost_since_ns_ = -1;
  }
  if (ctx_.on_state) ctx_.on_state(SourceState::kConnected, "receiving on mqtt " + dev_.mqtt_topic);
}

void MqttSource::arm_idle() {
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
      char buf[96];
      std::snprintf(buf, sizeof buf, "no mqtt messages for %.1f s (broker %s)",
                    (now - last_rx_ns_) * 1e-9, ctx_.mqtt->connected() ? "connected" : "away");
      if (ctx_.on_state) ctx_.on_state(SourceState::kLost, buf);
    }
    arm_idle();
  });
}

}  // namespace primus::adapters
