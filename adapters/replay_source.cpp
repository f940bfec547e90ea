#include "adapters/replay_source.h"

#include <chrono>

namespace primus::adapters {

ReplaySource::ReplaySource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : dev_(dev), rec_(read_csv_recording(dev, index)), ctx_(std::move(ctx)), timer_(ctx_.io) {
  stats_.decode_errors = rec_.bad_rows;
}

std::int64_t ReplaySource::virtual_ns(std::size_t i) const {
  return (rec_.samples[i].t_device_us - rec_.samples.front().t_device_us + pass_offset_us_) * 1000;
}

void ReplaySource::start() {
  running_ = true;
  start_ns_ = ctx_.clock.now_ns();
  std::string detail =
      "replaying " + dev_.path + " (" + std::to_string(rec_.samples.size()) + " samples";
  if (rec_.bad_rows)
    detail +=
        ", " + std::to_string(rec_.bad_rows) + " bad rows skipped, first at " + rec_.first_bad_row;
  ctx_.on_state(SourceState::kConnected, detail + ")");
  tick();
}

void ReplaySource::stop() {
  running_ = false;
  timer_.cancel();
}

void ReplaySource::tick() {
  if (!running_) return;
  const std::int64_t now = ctx_.clock.now_ns();
  const bool fast = dev_.speed <= 0;
  const std::size_t chunk_limit = fast ? 512 : SIZE_MAX;
  std::size_t emitted = 0;
  for (;;) {
    if (next_ >= rec_.samples.size()) {
      if (!dev_.loop) {
        running_ = false;
        ctx_.on_state(SourceState::kEnded, "end of " + dev_.path);
        return;
      }
      const auto& s = rec_.samples;
      pass_offset_us_ += s.back().t_device_us - s.front().t_device_us +
                         static_cast<std::int64_t>(1e6 / dev_.rate_hz);
      ++pass_;
      next_ = 0;
    }
    const std::int64_t vt = virtual_ns(next_);
    if (!fast) {
      const auto due = start_ns_ + static_cast<std::int64_t>(static_cast<double>(vt) / dev_.speed);
      if (due > now) {
        timer_.expires_after(std::chrono::nanoseconds(due - now));
        break;
      }
    } else if (emitted >= chunk_limit) {
      timer_.expires_after(std::chrono::nanoseconds(0));
      break;
    }
    Sample s = rec_.samples[next_];
    s.t_host_ns = start_ns_ + vt;
    s.t_device_us += pass_offset_us_;
    s.seq += static_cast<std::uint32_t>(pass_ * rec_.samples.size());
    ++next_;
    ++emitted;
    ++stats_.samples;
    ctx_.on_sample(s);
    if (!running_) return;
  }
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

}  // namespace primus::adapters
