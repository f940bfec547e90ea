#pragma once
// Stream decoders ("codecs"), independent of the transport that carries the bytes.
//
// A Decoder is a byte-stream state machine: feed() it any chunking of any byte sequence and it
// delivers every good frame, in order, through a FrameSink. Garbage, truncated frames, bad
// checksums and absurd lengths are dropped and counted per reason in counters(); decoding
// resumes at the next good frame. Memory is fixed at construction (a frame buffer of the
// codec's longest legal frame); feed() never allocates and never throws.
//
// Threads: a Decoder is not thread-safe; one instance per byte stream, used by one thread.
// Units: samples carry the device's own units (see each codec); Sample::device and
// Sample::t_host_ns are left 0 for the caller to fill.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "src/core/sample.h"

namespace primus::adapters::codecs {

/// Why a frame (or a run of bytes) was dropped.
enum class DropReason : std::uint8_t {
  kGarbage,        ///< a run of bytes outside any frame (before sync, between frames)
  kTruncated,      ///< frame ended before its declared length
  kBadLength,      ///< longer than the longest legal frame, or length not matching its header
  kBadChecksum,    ///< CRC or checksum mismatch
  kBadVersion,     ///< unknown protocol version or reserved bits set
  kBadValue,       ///< unparsable or missing value, or a frame with nothing usable
  kUnknownDevice,  ///< device id not configured for this source (counted by the source)
};
inline constexpr std::size_t kDropReasonCount = 7;
const char* to_string(DropReason r) noexcept;

struct DecodeCounters {
  std::uint64_t frames = 0;         ///< good frames delivered to the sink
  std::uint64_t garbage_bytes = 0;  ///< bytes thrown away while hunting for a frame start
  std::array<std::uint64_t, kDropReasonCount> dropped{};  ///< events per DropReason

  void drop(DropReason r) noexcept { ++dropped[static_cast<std::size_t>(r)]; }
  [[nodiscard]] std::uint64_t dropped_total() const noexcept {
    std::uint64_t n = 0;
    for (auto d : dropped) n += d;
    return n;
  }
  [[nodiscard]] std::uint64_t operator[](DropReason r) const noexcept {
    return dropped[static_cast<std::size_t>(r)];
  }
};

/// One good frame: the sample and the device id the frame named (native frames, CSV `device`
/// column), valid when has_device_id.
struct Decoded {
  Sample sample;
  std::uint32_t device_id = 0;
  bool has_device_id = false;
};

/// A non-owning reference to a callable `void(const Decoded&)`, valid for one feed() call.
class FrameSink {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FrameSink>>>
  FrameSink(F&& f) noexcept  // NOLINT(google-explicit-constructor): used like a lambda parameter
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        fn_([](void* o, const Decoded& d) { (*static_cast<std::remove_reference_t<F>*>(o))(d); }) {}
  void operator()(const Decoded& d) const { fn_(obj_, d); }

 private:
  void* obj_;
  void (*fn_)(void*, const Decoded&);
};

/// Where a stream starts relative to frame boundaries.
enum class Sync {
  kHunt,     ///< mid-stream (a serial port just opened): skip to the next frame boundary first
  kAligned,  ///< at a frame boundary (a datagram, a BLE connection's first notification)
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  /// Consume bytes; calls sink once per good frame, synchronously, in stream order.
  virtual void feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept = 0;
  /// The unit the bytes came in is complete (end of a datagram): a frame still open is decoded
  /// if it is complete without its terminator (native, CSV), else counted as truncated.
  virtual void finish(const FrameSink& sink) noexcept = 0;
  /// Forget any partial frame (reconnect); counters are kept.
  virtual void reset(Sync sync) noexcept = 0;
  [[nodiscard]] const DecodeCounters& counters() const noexcept { return counters_; }
  DecodeCounters& counters() noexcept { return counters_; }

 protected:
  DecodeCounters counters_;
};

}  // namespace primus::adapters::codecs
