#pragma once
// Model-rate frames, the per-device frame ring, and the windower that cuts windows.
//
// A ModelFrame is one resampled 6-channel sample (acc m/s² xyz, gyro rad/s xyz) on the model grid.
// The pipeline pushes each frame into a FrameRing (bounded, drop-oldest, readable from other
// threads: the capture writer's history, see src/core/ring_buffer.h) and into the Windower.
// The windower keeps its own channel-major history of the last `length` frames, written twice
// (at i and i + length) so that the newest `length` frames of each channel are always contiguous:
// a window is six memcpy of `length` floats, and pushing a frame is twelve float stores.
//
// Contract: Windower is not thread-safe (the device's strand). It allocates one Window::data
// vector per emitted window (once per hop) and nothing per frame; its history is sized at
// construction.
#include <array>
#include <cstdint>
#include <vector>

#include "src/config/config.h"
#include "src/core/ring_buffer.h"
#include "src/core/window.h"

namespace primus::signal {

enum ModelFrameFlag : std::uint32_t {
  kFrameInterpolated = 1u << 0,  ///< bridged a gap or was upsampled
};

struct ModelFrame {
  std::array<float, 6> v{};      ///< acc x,y,z (m/s²), gyro x,y,z (rad/s)
  std::int64_t t_host_ns = 0;    ///< grid time, host steady ns
  std::int64_t t_device_us = 0;  ///< the same instant in device time (clock map inverse)
  std::uint32_t flags = 0;       ///< OR of ModelFrameFlag
};

using FrameRing = RingBuffer<ModelFrame>;

class Windower {
 public:
  /// Throws std::invalid_argument if win.length < kMinWindowLength, hop not in 1..length or
  /// rate_hz not > 0.
  Windower(const WindowConfig& win, std::uint32_t device);

  /// Start over: the next window needs `length` new frames.
  void reset() noexcept;

  /// Add one frame. If a window is due (the `length`-th frame since reset(), then every `hop`
  /// frames), fills `out` (allocating out.data) and returns true. `t_ready_ns`: host time the
  /// input sample that produced this frame arrived.
  bool push(const ModelFrame& f, std::int64_t t_ready_ns, Window& out);

  [[nodiscard]] int length() const noexcept { return length_; }
  [[nodiscard]] int hop() const noexcept { return hop_; }
  [[nodiscard]] std::uint64_t windows_out() const noexcept { return next_seq_; }

 private:
  int length_;
  int hop_;
  std::uint32_t device_;
  std::size_t pos_ = 0;         ///< next write position in [0, length)
  std::uint64_t filled_ = 0;    ///< frames since reset
  std::uint64_t next_due_ = 0;  ///< filled_ count at which the next window is due
  std::uint64_t next_seq_ = 0;
  int interpolated_ = 0;                ///< flagged frames among the last `length`
  std::vector<float> hist_;             ///< kChannels x 2·length, mirrored
  std::vector<std::int64_t> t_host_;    ///< length, circular
  std::vector<std::int64_t> t_device_;  ///< length, circular
  std::vector<std::uint8_t> flag_;      ///< length, circular
};

}  // namespace primus::signal
