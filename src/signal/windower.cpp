#include "src/signal/windower.h"

#include <algorithm>
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
  const auto len = static_cast<std::size_t>(length_);
  hist_.assign(static_cast<std::size_t>(kChannels) * 2 * len, 0.0f);
  t_host_.assign(len, 0);
  t_device_.assign(len, 0);
  flag_.assign(len, 0);
  reset();
}

void Windower::reset() noexcept {
  pos_ = 0;
  filled_ = 0;
  interpolated_ = 0;
  std::fill(flag_.begin(), flag_.end(), std::uint8_t{0});
  next_due_ = static_cast<std::uint64_t>(length_);
}

bool Windower::push(const ModelFrame& f, std::int64_t t_ready_ns, Window& out) {
  const auto len = static_cast<std::size_t>(length_);
  const std::size_t p = pos_;
  for (std::size_t c = 0; c < static_cast<std::size_t>(kChannels); ++c) {
    float* ch = hist_.data() + c * 2 * len;
    ch[p] = f.v[c];
    ch[p + len] = f.v[c];
  }
  const std::uint8_t flag = (f.flags & kFrameInterpolated) ? 1 : 0;
  interpolated_ += static_cast<int>(flag) - static_cast<int>(flag_[p]);
  flag_[p] = flag;
  t_host_[p] = f.t_host_ns;
  t_device_[p] = f.t_device_us;
  pos_ = p + 1 == len ? 0 : p + 1;
  ++filled_;
  if (filled_ < next_due_) return false;
  next_due_ = filled_ + static_cast<std::uint64_t>(hop_);

  // The newest `len` frames start at pos_ (the oldest) in each mirrored channel.
  const std::size_t first = pos_;
  const std::size_t last = p;
  out.device = device_;
  out.seq = next_seq_++;
  out.length = length_;
  out.t_start_host_ns = t_host_[first];
  out.t_end_host_ns = t_host_[last];
  out.t_start_device_us = t_device_[first];
  out.t_end_device_us = t_device_[last];
  out.t_ready_ns = t_ready_ns;
  out.interpolated = interpolated_;
  // reserve + insert: one pass over the 6·len floats (resize would zero-fill them first)
  out.data.clear();
  out.data.reserve(static_cast<std::size_t>(kChannels) * len);
  for (std::size_t c = 0; c < static_cast<std::size_t>(kChannels); ++c) {
    const float* src = hist_.data() + c * 2 * len + first;
    out.data.insert(out.data.end(), src, src + len);
  }
  return true;
}

}  // namespace primus::signal
