#pragma once
// Bytes -> Samples for one device: the codec its config names, the device-id filter
// (DeviceConfig::device_id), and the per-reason drop counters.
//
// Threads: not thread-safe; owned by one source on the io thread.
// Allocation: the decoder is built once; feed() allocates nothing.
#include <memory>
#include <span>

#include "adapters/codecs/codec.h"
#include "adapters/source.h"

namespace primus::adapters {

/// The decoder a device's `codec` names. Throws std::invalid_argument for kNone.
std::unique_ptr<codecs::Decoder> make_decoder(const DeviceConfig& dev, codecs::Sync start);

class DecodePath {
 public:
  DecodePath(const DeviceConfig& dev, std::uint32_t index, codecs::Sync start);

  /// Decode bytes that arrived at t_host_ns; calls sink(const Sample&) for each accepted
  /// sample, with Sample::device and t_host_ns set.
  template <typename F>
  void feed(std::span<const std::uint8_t> bytes, std::int64_t t_host_ns, F&& sink) {
    decoder_->feed(bytes, [&](const codecs::Decoded& d) { deliver(d, t_host_ns, sink); });
  }
  /// End of a self-contained unit (a datagram): see codecs::Decoder::finish.
  template <typename F>
  void finish(std::int64_t t_host_ns, F&& sink) {
    decoder_->finish([&](const codecs::Decoded& d) { deliver(d, t_host_ns, sink); });
  }
  void reset(codecs::Sync s) noexcept { decoder_->reset(s); }
  /// Writes the decoder's counters (drops, garbage, decode_errors) into st.
  void fill(SourceStats& st) const noexcept;

 private:
  template <typename F>
  void deliver(const codecs::Decoded& d, std::int64_t t_host_ns, F& sink) {
    if (want_id_ >= 0 && d.has_device_id && d.device_id != static_cast<std::uint32_t>(want_id_)) {
      ++unknown_device_;
      return;
    }
    Sample s = d.sample;
    s.device = index_;
    s.t_host_ns = t_host_ns;
    sink(s);
  }

  std::unique_ptr<codecs::Decoder> decoder_;
  std::uint32_t index_;
  int want_id_;
  std::uint64_t unknown_device_ = 0;
};

}  // namespace primus::adapters
