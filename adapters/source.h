#pragma once
// One small interface for every transport (sim, replay, serial, udp, ble).
//
// Threads: a Source lives on the io thread's io_context: start(), stop() and both callbacks run
// there. A source never blocks the io thread; it uses Asio timers and async I/O only.
// Ownership: the daemon owns its sources; callbacks must outlive them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "src/config/config.h"
#include "src/core/sample.h"
#include "src/core/time_source.h"

namespace primus::adapters {

enum class SourceState { kConnecting, kConnected, kLost, kEnded };
const char* to_string(SourceState s) noexcept;

struct SourceStats {
  std::uint64_t samples = 0;         ///< samples delivered
  std::uint64_t bytes = 0;           ///< bytes read (byte transports)
  std::uint64_t decode_errors = 0;   ///< frames/lines dropped by the codec
  std::uint64_t reconnects = 0;
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

struct SourceContext {
  boost::asio::io_context& io;
  const TimeSource& clock;
  SampleSink on_sample;
  StateSink on_state;
};

/// Build the source a device's config asks for. Throws std::runtime_error naming the device.
std::unique_ptr<Source> make_source(const DeviceConfig& dev, std::uint32_t index,
                                    SourceContext ctx);

}  // namespace primus::adapters
