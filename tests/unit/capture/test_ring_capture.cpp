#include <gtest/gtest.h>

#include "src/capture/capture_store.h"
#include "src/capture/ring_capture.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

constexpr std::int64_t kPeriodNs = 20'000'000;  // 50 Hz

signal::ModelFrame frame(std::int64_t k, std::int64_t t0_ns = 0) {
  signal::ModelFrame f;
  for (int c = 0; c < 6; ++c) f.v[static_cast<std::size_t>(c)] = static_cast<float>(100 * c + k);
  f.t_host_ns = t0_ns + k * kPeriodNs;
  f.t_device_us = 7'000'000 + k * 20'000;
  return f;
}

TEST(RingCapture, CopiesTheSpanChannelMajor) {
  signal::FrameRing ring(256);
  for (int k = 0; k < 200; ++k) ring.push(frame(k));
  const RingSpan s = copy_ring_span(ring, 50 * kPeriodNs, 99 * kPeriodNs, 50.0);
  ASSERT_EQ(s.status, RingSpan::Status::kOk) << s.why;
  ASSERT_EQ(s.frames.size(), 50u);
  EXPECT_EQ(s.frames.front().t_host_ns, 50 * kPeriodNs);
  const CaptureRecord r = record_from_frames(s.frames, "wrist1", "wave", 50.0, 119.0, "{}");
  EXPECT_EQ(r.n_samples(), 50);
  EXPECT_EQ(r.at(0, 0), 50.0f);    // channel 0, first sample = frame 50
  EXPECT_EQ(r.at(3, 49), 399.0f);  // channel 3, last sample = 300 + 99
  EXPECT_EQ(r.t_start_host_ns, 50 * kPeriodNs);
  EXPECT_EQ(r.t_end_host_ns, 99 * kPeriodNs);
  EXPECT_EQ(r.t_start_device_us, 7'000'000 + 50 * 20'000);
  EXPECT_EQ(r.t_end_device_us, 7'000'000 + 99 * 20'000);
  EXPECT_NO_THROW(validate_capture(r));
  // And it goes into the store as is.
  test::TempDir dir;
  CaptureStore store(dir / "c.db");
  const auto back = store.get(store.append(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->data, r.data);
}

TEST(RingCapture, SaysWhenTheSpanIsNotComplete) {
  signal::FrameRing ring(256);
  for (int k = 0; k < 100; ++k) ring.push(frame(k));
  const RingSpan s = copy_ring_span(ring, 90 * kPeriodNs, 110 * kPeriodNs, 50.0);
  EXPECT_EQ(s.status, RingSpan::Status::kNotYet);
  EXPECT_TRUE(s.frames.empty());
  signal::FrameRing empty(16);
  EXPECT_EQ(copy_ring_span(empty, 0, kPeriodNs, 50.0).status, RingSpan::Status::kNotYet);
}

TEST(RingCapture, SaysWhenTheSpanIsNoLongerInTheRing) {
  signal::FrameRing ring(64);
  for (int k = 0; k < 500; ++k) ring.push(frame(k));  // keeps frames 436..499
  const RingSpan s = copy_ring_span(ring, 400 * kPeriodNs, 450 * kPeriodNs, 50.0);
  EXPECT_EQ(s.status, RingSpan::Status::kNotInHistory) << s.why;
  EXPECT_EQ(copy_ring_span(ring, 440 * kPeriodNs, 450 * kPeriodNs, 50.0).status,
            RingSpan::Status::kOk);
}

TEST(RingCapture, RefusesASpanAcrossARestart) {
  signal::FrameRing ring(256);
  for (int k = 0; k < 50; ++k) ring.push(frame(k));
  for (int k = 80; k < 150; ++k) ring.push(frame(k));  // 0.6 s hole: the chain restarted
  const RingSpan s = copy_ring_span(ring, 40 * kPeriodNs, 100 * kPeriodNs, 50.0);
  EXPECT_EQ(s.status, RingSpan::Status::kDiscontinuous) << s.why;
  EXPECT_EQ(copy_ring_span(ring, 85 * kPeriodNs, 100 * kPeriodNs, 50.0).status,
            RingSpan::Status::kOk);
  // A span that falls entirely inside the hole is not a capture either.
  EXPECT_NE(copy_ring_span(ring, 55 * kPeriodNs, 70 * kPeriodNs, 50.0).status,
            RingSpan::Status::kOk);
}

TEST(RingCapture, RejectsReversedSpans) {
  signal::FrameRing ring(16);
  ring.push(frame(0));
  EXPECT_EQ(copy_ring_span(ring, kPeriodNs, 0, 50.0).status, RingSpan::Status::kEmpty);
  EXPECT_THROW((void)record_from_frames({}, "d", "l", 50.0, 50.0, "{}"), CaptureError);
}

}  // namespace
}  // namespace primus::capture
