#pragma once
// One small interface for every transport (sim, replay, serial, udp, ble, mqtt).
//
// Threads: a Source lives on the io thread's io_context: start(), stop(), stats() and both
// callbacks run there. A source never blocks the io thread; it uses Asio timers and async I/O
// only (BLE: sd-bus driven from the same io_context through its file descriptor).
// Ownership: the daemon owns its sources; callbacks must outlive them. Destroy a source only
// after stop(), and before (or without) running the io_context again.
// Allocation: live sources allocate their buffers when built; none per sample.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "adapters/codecs/codec.h"
#include "src/config/config.h"
#include "src/core/sample.h"
#include "src/core/time_source.h"

namespace primus::mqtt {
class Link;
}

namespace primus::adapters {

enum class SourceState { kConnecting, kConnected, kLost, kEnded };
const char* to_string(SourceState s) noexcept;

/// Counters of one source; monotonically increasing for the source's life.
struct SourceStats {
  std::uint64_t samples = 0;        ///< samples delivered
  std::uint64_t bytes = 0;          ///< bytes read (byte transports)
  std::uint64_t decode_errors = 0;  ///< frames/lines/rows dropped: the sum of `drops`
  std::uint64_t reconnects = 0;     ///< links re-established after an outage
  std::uint64_t outages = 0;        ///< times an established link was lost
  std::int64_t downtime_ns = 0;     ///< total length of finished outages (lost -> connected)
  std::int64_t last_outage_ns = 0;  ///< length of the last finished outage
  std::uint64_t garbage_bytes = 0;  ///< bytes skipped while hunting for a frame
  std::array<std::uint64_t, codecs::kDropReasonCount> drops{};  ///< per codecs::DropReason
  /// udp only: frames or datagrams on this device's socket that no configured device claimed
  /// (unknown device id or sender, or undecodable before the id was known). Shared: every
  /// device on the same socket reports the same number.
  std::uint64_t unrouted = 0;
  /// mqtt only: messages dropped because MqttSource::kMaxBacklog of them were already waiting
  /// for the io thread.
  std::uint64_t backlog_dropped = 0;
};

/// Called for every decoded sample (t_host_ns already set).
using SampleSink = std::function<void(const Sample&)>;
/// Called when the source's connection state changes; `detail` says why.
using StateSink = std::function<void(SourceState, const std::string& detail)>;

class Source {
 public:
  virtual ~Source() = default;
  /// Open and begin delivering samples (asynchronously).
  virtual void start() = 0;
  /// Stop delivering; no callback runs after stop() returns.
  virtual void stop() = 0;
  [[nodiscard]] virtual const SourceStats& stats() const = 0;
};

/// Ground truth of a simulated device: it performed `label` ("null" = idle) over the samples
/// with host times [t_start_host_ns, t_end_host_ns]. Called on the io thread when the segment ends.
using TruthSink = std::function<void(const std::string& label, std::int64_t t_start_host_ns,
                                     std::int64_t t_end_host_ns)>;

struct SourceContext {
  boost::asio::io_context& io;
  const TimeSource& clock;
  SampleSink on_sample;
  StateSink on_state;
  TruthSink on_truth{};        ///< optional; only the simulator calls it
  mqtt::Link* mqtt = nullptr;  ///< the [mqtt] broker connection; required by adapter = "mqtt"
};

/// Build the source a device's config asks for. Throws std::runtime_error naming the device.
std::unique_ptr<Source> make_source(const DeviceConfig& dev, std::uint32_t index,
                                    SourceContext ctx);

}  // namespace primus::adapters
