#include "adapters/link_source.h"

#include <chrono>
#include <cstdio>

namespace primus::adapters {

LinkSource::LinkSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx,
                       codecs::Sync sync_on_connect, std::string what)
    : dev_(dev),
      ctx_(std::move(ctx)),
      path_(dev, index, sync_on_connect),
      sync_(sync_on_connect),
      what_(std::move(what)),
      backoff_(dev.reconnect_min_s, dev.reconnect_max_s),
      retry_timer_(ctx_.io),
      idle_timer_(ctx_.io),
      idle_ns_(static_cast<std::int64_t>(dev.idle_timeout_s * 1e9)) {}

const SourceStats& LinkSource::stats() const {
  path_.fill(stats_);
  return stats_;
}

void LinkSource::start() {
  running_ = true;
  report(SourceState::kConnecting, "opening " + what_);
  attempt();
}

void LinkSource::stop() {
  running_ = false;
  retry_timer_.cancel();
  idle_timer_.cancel();
  close_link();
  connected_ = false;
}

void LinkSource::attempt() {
  if (!running_) return;
  open_link();
}

void LinkSource::report(SourceState s, const std::string& detail) {
  if (ctx_.on_state) ctx_.on_state(s, detail);
}

void LinkSource::link_up(const std::string& detail) {
  if (!running_) return;
  const std::int64_t now = ctx_.clock.now_ns();
  if (lost_since_ns_ >= 0) {
    ++stats_.reconnects;
    stats_.last_outage_ns = now - lost_since_ns_;
    stats_.downtime_ns += stats_.last_outage_ns;
    lost_since_ns_ = -1;
  }
  connected_ = true;
  reported_lost_ = false;
  backoff_.reset();
  path_.reset(sync_);
  last_rx_ns_ = now;
  report(SourceState::kConnected, detail);
  arm_idle();
}

void LinkSource::link_failed(const std::string& why) {
  if (!running_) return;
  close_link();
  idle_timer_.cancel();
  const std::int64_t now = ctx_.clock.now_ns();
  if (connected_) {
    connected_ = false;
    ++stats_.outages;
    lost_since_ns_ = now;
  }
  const std::int64_t delay = backoff_.next_ns();
  if (!reported_lost_) {
    reported_lost_ = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "; retrying every %.2f s up to %.2f s", delay * 1e-9,
                  dev_.reconnect_max_s);
    report(SourceState::kLost, what_ + ": " + why + buf);
  }
  retry_timer_.expires_after(std::chrono::nanoseconds(delay));
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && running_) attempt();
  });
}

void LinkSource::on_bytes(std::span<const std::uint8_t> bytes) {
  const std::int64_t now = ctx_.clock.now_ns();
  last_rx_ns_ = now;
  stats_.bytes += bytes.size();
  path_.feed(bytes, now, [this](const Sample& s) {
    if (!running_) return;  // stop() from inside a callback: nothing more after it
    ++stats_.samples;
    ctx_.on_sample(s);
  });
}

// Polls at a quarter of the timeout rather than re-arming a timer per read.
void LinkSource::arm_idle() {
  if (idle_ns_ <= 0) return;
  idle_timer_.expires_after(
      std::chrono::nanoseconds(std::max<std::int64_t>(idle_ns_ / 4, 10'000'000)));
  idle_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_ || !connected_) return;
    const std::int64_t silent = ctx_.clock.now_ns() - last_rx_ns_;
    if (silent > idle_ns_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "no data for %.1f s", silent * 1e-9);
      link_failed(buf);
      return;
    }
    arm_idle();
  });
}

}  // namespace primus::adapters
