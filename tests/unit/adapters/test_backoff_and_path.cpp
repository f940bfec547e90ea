#include <gtest/gtest.h>

#include <vector>

#include "adapters/backoff.h"
#include "adapters/codecs/native_frame.h"
#include "adapters/decode_path.h"

namespace primus::adapters {
namespace {

TEST(Backoff, DoublesFromMinToTheCapAndResets) {
  Backoff b(0.25, 3.0);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(b.next_ns());
  EXPECT_EQ(got, (std::vector<std::int64_t>{250'000'000, 500'000'000, 1'000'000'000, 2'000'000'000,
                                            3'000'000'000, 3'000'000'000, 3'000'000'000}));
  EXPECT_EQ(b.attempts(), 7);
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.next_ns(), 250'000'000);
}

TEST(Backoff, MaxBelowMinMeansMin) {
  Backoff b(2.0, 1.0);
  EXPECT_EQ(b.next_ns(), 2'000'000'000);
  EXPECT_EQ(b.next_ns(), 2'000'000'000);
}

std::vector<std::uint8_t> wire(std::uint16_t id, std::uint32_t seq) {
  codecs::native::Frame f;
  f.device_id = id;
  f.seq = seq;
  std::vector<std::uint8_t> b(codecs::native::kMaxWire);
  b.resize(codecs::native::encode(f, b.data()));
  return b;
}

TEST(DecodePath, FiltersOtherDeviceIdsAndCountsThemPerReason) {
  DeviceConfig dev;
  dev.id = "wrist";
  dev.adapter = AdapterKind::kSerial;
  dev.codec = CodecKind::kNative;
  dev.device_id = 5;
  DecodePath path(dev, 3, codecs::Sync::kAligned);
  std::vector<Sample> got;
  for (auto [id, seq] : {std::pair{5, 1}, {6, 2}, {5, 3}, {9, 4}}) {
    const auto w = wire(static_cast<std::uint16_t>(id), static_cast<std::uint32_t>(seq));
    path.feed(w, 1234, [&](const Sample& s) { got.push_back(s); });
  }
  std::vector<std::uint8_t> junk{1, 2, 3, 0};
  path.feed(junk, 1, [&](const Sample& s) { got.push_back(s); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].device, 3u);
  EXPECT_EQ(got[0].t_host_ns, 1234);
  EXPECT_EQ(got[1].seq, 3u);
  SourceStats st;
  path.fill(st);
  EXPECT_EQ(st.drops[static_cast<std::size_t>(codecs::DropReason::kUnknownDevice)], 2u);
  EXPECT_EQ(st.drops[static_cast<std::size_t>(codecs::DropReason::kTruncated)], 1u);
  EXPECT_EQ(st.decode_errors, 3u);
}

TEST(DecodePath, AnyIdWhenNoneConfigured) {
  DeviceConfig dev;
  dev.codec = CodecKind::kNative;
  DecodePath path(dev, 0, codecs::Sync::kAligned);
  int n = 0;
  for (std::uint16_t id : {0, 1, 65535}) path.feed(wire(id, 1), 0, [&](const Sample&) { ++n; });
  EXPECT_EQ(n, 3);
  dev.codec = CodecKind::kNone;
  EXPECT_THROW(DecodePath(dev, 0, codecs::Sync::kAligned), std::invalid_argument);
}

}  // namespace
}  // namespace primus::adapters
