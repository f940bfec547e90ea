#pragma once
// Model-rate frames, the per-device frame ring, and the windower that cuts windows from it.
//
// A ModelFrame is one resampled 6-channel sample (acc m/s² xyz, gyro rad/s xyz) on the model grid.
// The pipeline pushes frames into a FrameRing (bounded, drop-oldest, see src/core/ring_buffer.h);
// the windower reads the newest `length` frames every `hop` frames and transposes them into a
// channel-major Window.
//
// Contract: Windower is not thread-safe (the device's strand). It allocates one Window::data
// vector per emitted window (once per hop) and nothing per frame; its scratch buffer is sized at
// construction. Other threads may read the FrameRing concurrently (e.g. the capture writer).
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

/// The encoder's minimum window length.
inline constexpr int kMinWindowLength = 123;

class Windower {
 public:
  /// Throws std::invalid_argument if win.length < kMinWindowLength, hop not in 1..length or
  /// rate_hz not > 0.
  Windower(const WindowConfig& win, std::uint32_t device);

  /// Start over: windows only use frames pushed after this call (ring index >= ring.pushed()).
  void reset(const FrameRing& ring) noexcept;

  /// Call after each ring push. If a window is due, fills `out` (allocating out.data) and
  /// returns true. `t_ready_ns`: host time the triggering input sample arrived.
  bool poll(const FrameRing& ring, std::int64_t t_ready_ns, Window& out);

  [[nodiscard]] int length() const noexcept { return length_; }
  [[nodiscard]] int hop() const noexcept { return hop_; }
  [[nodiscard]] std::uint64_t windows_out() const noexcept { return next_seq_; }

 private:
  int length_;
  int hop_;
  std::uint32_t device_;
  std::uint64_t start_index_ = 0;  ///< first ring index usable after the last reset
  std::uint64_t next_due_ = 0;     ///< ring pushed() count at which the next window is due
  std::uint64_t next_seq_ = 0;
  std::vector<ModelFrame> scratch_;
};

}  // namespace primus::signal
