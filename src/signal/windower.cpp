#include "src/signal/windower.h"

#include <stdexcept>
#include <string>

namespace primus::signal {

Windower::Windower(const WindowConfig& win, std::uint32_t device)
    : length_(win.length), hop_(win.hop), device_(device) {
  if (win.length < kMinWindowLength) {
    throw std::invalid_argument("window.length = " + std::to_string(win.length) +
                                ": must be >= " + std::to_string(kMinWindowLength));
  }
  if (win.hop < 1 || win.hop > win.length) {
    throw std::invalid_argument("window.hop = " + std::to_string(win.hop) + ": must be in 1.." +
                                std::to_string(win.length));
  }
  if (!(win.rate_hz > 0.0)) throw std::invalid_argument("window.rate_hz: must be > 0");
  scratch_.resize(static_cast<std::size_t>(length_));
  next_due_ = static_cast<std::uint64_t>(length_);
}

void Windower::reset(const FrameRing& ring) noexcept {
  start_index_ = ring.pushed();
  next_due_ = start_index_ + static_cast<std::uint64_t>(length_);
}

bool Windower::poll(const FrameRing& ring, std::int64_t t_ready_ns, Window& out) {
  const std::uint64_t pushed = ring.pushed();
  if (pushed < next_due_) return false;
  next_due_ = pushed + static_cast<std::uint64_t>(hop_);
  const auto len = static_cast<std::size_t>(length_);
  const auto r = ring.read(pushed - len, scratch_.data(), len);
  if (r.count != len || r.first < start_index_) return false;  // ring smaller than a window

  out.device = device_;
  out.seq = next_seq_++;
  out.length = length_;
  out.t_start_host_ns = scratch_.front().t_host_ns;
  out.t_end_host_ns = scratch_.back().t_host_ns;
  out.t_start_device_us = scratch_.front().t_device_us;
  out.t_end_device_us = scratch_.back().t_device_us;
  out.t_ready_ns = t_ready_ns;
  out.data.resize(static_cast<std::size_t>(kChannels) * len);
  int interpolated = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const ModelFrame& f = scratch_[i];
    if (f.flags & kFrameInterpolated) ++interpolated;
    for (std::size_t c = 0; c < static_cast<std::size_t>(kChannels); ++c) {
      out.data[c * len + i] = f.v[c];
    }
  }
  out.interpolated = interpolated;
  return true;
}

}  // namespace primus::signal
