#pragma once
// Replays a recorded CSV (see csv_recording.h) as a live device.
//
// Timing: sample i is delivered at real time start + (t_i - t_0) / speed (speed 0: as fast as the
// io thread allows, in chunks). Its t_host_ns is start + (t_i - t_0) at 1x, so the pipeline sees
// the recording's own rate whatever the replay speed. With `loop`, the file starts over after one
// nominal sample period, times and sequence numbers continuing.
#include <boost/asio/steady_timer.hpp>

#include "adapters/csv_recording.h"
#include "adapters/source.h"

namespace primus::adapters {

class ReplaySource final : public Source {
 public:
  /// Reads the whole file now; throws std::runtime_error naming the file on failure.
  ReplaySource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  void start() override;
  void stop() override;
  [[nodiscard]] const SourceStats& stats() const override { return stats_; }

 private:
  void tick();
  [[nodiscard]] std::int64_t virtual_ns(std::size_t i) const;

  DeviceConfig dev_;
  Recording rec_;
  SourceContext ctx_;
  boost::asio::steady_timer timer_;
  std::size_t next_ = 0;
  std::uint64_t pass_ = 0;           ///< completed loops
  std::int64_t pass_offset_us_ = 0;  ///< added to device times on later passes
  std::int64_t start_ns_ = 0;
  bool running_ = false;
  SourceStats stats_;
};

}  // namespace primus::adapters
