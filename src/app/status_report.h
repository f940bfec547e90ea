#pragma once
// What the daemon says about itself: the status message (published every
// daemon.status_interval_s, answered by the `status` method, summarised for systemd's STATUS=),
// the Prometheus exposition (/metrics), and the rate-limited warnings about samples a pipeline
// dropped. docs/events.md ("status") and docs/operations.md list the fields.
//
// Threads: status_json() and warn_about_drops() run on the io thread (they read the devices'
// pipelines, which are not thread-safe) and refresh the per-device metric lines, which
// render_metrics() serves from the metrics server's thread under a mutex. Everything else
// render_metrics() reads is thread-safe (counters and histograms of the parts).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/app/parts.h"

namespace primus::app {

class StatusReport {
 public:
  /// `ready` and `io_exceptions` are the daemon's (readiness, exceptions the io loop survived).
  StatusReport(Parts& parts, const std::atomic<bool>& ready,
               const std::atomic<std::uint64_t>& io_exceptions);

  /// The status message body (JSON text) and, in `summary`, a one-line summary for systemd.
  /// io thread. Also warns about drops and refreshes the per-device metric lines.
  std::string status_json(std::string& summary);
  /// Prometheus text exposition format; any thread.
  std::string render_metrics();
  /// Capture writer counters for status (any thread).
  [[nodiscard]] nlohmann::json capture_json() const;

 private:
  struct DeviceMemo {
    std::uint64_t samples_at_last_status = 0;
    signal::PipelineCounters last_counters{};  ///< at the last drop warning
    std::chrono::steady_clock::time_point last_warning{};
  };
  void warn_about_drops(std::size_t i);
  void refresh_device_metrics();

  Parts& p_;
  const std::atomic<bool>& ready_;
  const std::atomic<std::uint64_t>& io_exceptions_;
  std::vector<DeviceMemo> memo_;  ///< per device, io thread
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_status_ = started_;
  std::mutex device_metrics_mu_;
  std::string device_metrics_;  ///< per-device exposition lines, refreshed by the io thread
};

}  // namespace primus::app
