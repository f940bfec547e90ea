#pragma once
// Copying a labelled time span out of a device's frame ring (the model-rate history the pipeline
// keeps, src/signal/windower.h) into a CaptureRecord.
//
// Threads: copy_ring_span() may run on any thread concurrently with the ring's producer (the
// device strand); it never blocks it (RingBuffer::read is a seqlock copy). In the daemon it runs
// on the capture writer thread via CaptureWriter::post(), so the io thread does no copying.
// Allocation: one vector of ring.capacity() frames per call.
#include <cstdint>
#include <string>
#include <vector>

#include "src/capture/capture_record.h"
#include "src/signal/windower.h"

namespace primus::capture {

struct RingSpan {
  enum class Status {
    kOk,             ///< frames holds the whole span
    kNotYet,         ///< the newest frame is older than t_to: ask again later
    kNotInHistory,   ///< the span starts before the oldest frame kept (ring too short, or the
                     ///< stream started or restarted after t_from)
    kDiscontinuous,  ///< the stream restarted inside the span (a gap longer than max_gap_s)
    kEmpty,          ///< t_to < t_from, or no frame lies in the span
  };
  Status status = Status::kEmpty;
  std::vector<signal::ModelFrame> frames;  ///< frames with t_from <= t_host_ns <= t_to, in order
  std::string why;                         ///< human-readable reason when not kOk
};

[[nodiscard]] const char* to_string(RingSpan::Status s) noexcept;

/// Copies the frames whose host grid time lies in [t_from_host_ns, t_to_host_ns]. rate_hz is the
/// model rate (frames further apart than 1.5 periods mean a restart).
[[nodiscard]] RingSpan copy_ring_span(const signal::FrameRing& ring, std::int64_t t_from_host_ns,
                                      std::int64_t t_to_host_ns, double rate_hz);

/// A record from consecutive frames (channel-major data, times from the first and last frame).
/// Does not validate (append() does). Throws CaptureError if frames is empty.
[[nodiscard]] CaptureRecord record_from_frames(const std::vector<signal::ModelFrame>& frames,
                                               std::string device, std::string label,
                                               double rate_hz, double source_rate_hz,
                                               std::string conversion);

}  // namespace primus::capture
