#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "adapters/codecs/witmotion.h"

namespace primus::adapters::codecs {
namespace {

using Bytes = std::vector<std::uint8_t>;

/// An 11-byte serial frame as the WT901 manual describes it.
Bytes f11(std::uint8_t type, std::int16_t a, std::int16_t b, std::int16_t c, std::int16_t d) {
  Bytes f{0x55, type};
  for (std::int16_t v : {a, b, c, d}) {
    f.push_back(static_cast<std::uint8_t>(v & 0xFF));
    f.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
  }
  unsigned sum = 0;
  for (auto x : f) sum += x;
  f.push_back(static_cast<std::uint8_t>(sum & 0xFF));
  return f;
}

Bytes ble61(std::array<std::int16_t, 9> v) {
  Bytes f{0x55, 0x61};
  for (auto x : v) {
    f.push_back(static_cast<std::uint8_t>(x & 0xFF));
    f.push_back(static_cast<std::uint8_t>((x >> 8) & 0xFF));
  }
  return f;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Collect {
  std::vector<Sample> got;
  void operator()(const Decoded& d) { got.push_back(d.sample); }
};

// acc (0, 0, 1 g), gyro (0, 0, 90 deg/s), angle (roll 0, pitch 0, yaw 90 deg)
Bytes cycle(std::int16_t k = 0) {
  return cat({f11(0x51, 0, 0, 2048, 3000), f11(0x52, k, 0, 1475, 0), f11(0x53, 0, 0, 16384, 0)});
}

TEST(Witmotion, MergesOneCycleIntoOneSampleWithDocumentedScales) {
  WitmotionDecoder dec;
  Collect c;
  const Bytes s = cat({cycle(1), cycle(2), cycle(3)});
  dec.feed(s, c);
  // The first cycle is emitted when the order starts over; once learned, at the cycle's last type.
  ASSERT_EQ(c.got.size(), 3u);
  const Sample& x = c.got[0];
  EXPECT_EQ(x.fields, kFieldAcc | kFieldGyro | kFieldQuat);
  EXPECT_NEAR(x.acc[2], 1.0, 1e-6);  // 2048 / 32768 * 16 g
  EXPECT_NEAR(x.gyro[2], 1475 / 32768.0 * 2000, 1e-3);
  EXPECT_NEAR(x.gyro[0], 1 / 32768.0 * 2000, 1e-6);
  EXPECT_NEAR(c.got[2].gyro[0], 3 / 32768.0 * 2000, 1e-6);
  // yaw 90 deg about z: q = (cos 45, 0, 0, sin 45)
  EXPECT_NEAR(x.quat[0], std::sqrt(0.5), 1e-5);
  EXPECT_NEAR(x.quat[3], std::sqrt(0.5), 1e-5);
  EXPECT_NEAR(x.quat[1], 0.0, 1e-6);
  EXPECT_EQ(dec.counters().dropped_total(), 0u);
}

TEST(Witmotion, QuaternionFrameWinsOverAnglesAndTimeFrameSetsDeviceTime) {
  WitmotionDecoder dec;
  Collect c;
  // 2024-02-29 12:34:56.789
  const Bytes time =
      f11(0x50, static_cast<std::int16_t>(24 | 2 << 8), static_cast<std::int16_t>(29 | 12 << 8),
          static_cast<std::int16_t>(34 | 56 << 8), 789);
  const Bytes one = cat({time, f11(0x51, 100, 200, 300, 0), f11(0x53, 0, 0, 16384, 0),
                         f11(0x59, 16384, 0, 0, -16384)});
  dec.feed(cat({one, one}), c);
  ASSERT_EQ(c.got.size(), 2u);
  const Sample& s = c.got[0];
  EXPECT_EQ(s.fields, kFieldAcc | kFieldQuat | kFieldTDevice);
  EXPECT_NEAR(s.quat[0], 0.5, 1e-6);
  EXPECT_NEAR(s.quat[3], -0.5, 1e-6);
  // days from 2000-01-01 to 2024-02-29 = 8825
  EXPECT_EQ(s.t_device_us, ((8825LL * 86400 + 12 * 3600 + 34 * 60 + 56) * 1000 + 789) * 1000);
}

TEST(Witmotion, BadChecksumAndNoiseAreSkipped) {
  WitmotionDecoder dec;
  Collect c;
  Bytes broken = f11(0x52, 1, 2, 3, 4);
  broken[10] ^= 0xFF;
  const Bytes s = cat(
      {Bytes{0x01, 0x55, 0x00, 0x55}, cycle(), broken, Bytes{0x55, 0x55, 0x13}, cycle(), cycle()});
  dec.feed(s, c);
  EXPECT_EQ(c.got.size(), 3u);
  // The damaged frame, plus noise that looked like a header (0x55 0x55 is a valid start).
  EXPECT_GE(dec.counters()[DropReason::kBadChecksum], 1u);
  EXPECT_GE(dec.counters()[DropReason::kGarbage], 1u);
  EXPECT_GT(dec.counters().garbage_bytes, 0u);
}

TEST(Witmotion, CycleWithoutAccelerationIsDropped) {
  WitmotionDecoder dec;
  Collect c;
  const Bytes only_gyro = cat({f11(0x52, 1, 1, 1, 0), f11(0x53, 0, 0, 0, 0)});
  dec.feed(cat({only_gyro, only_gyro, only_gyro}), c);
  EXPECT_TRUE(c.got.empty());
  EXPECT_EQ(dec.counters()[DropReason::kBadValue], 3u);
}

TEST(Witmotion, BleFramesAtEverySplitPoint) {
  const Bytes a = ble61({0, 0, 2048, 0, 0, 1475, 0, 0, 16384});
  const Bytes reg = cat({Bytes{0x55, 0x71}, Bytes(18, 0x01)});  // register reply: skipped
  const Bytes s = cat({a, reg, a, a});
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    WitmotionDecoder dec;
    Collect c;
    dec.feed({s.data(), cut}, c);
    dec.feed({s.data() + cut, s.size() - cut}, c);
    ASSERT_EQ(c.got.size(), 3u) << cut;
    EXPECT_NEAR(c.got[1].acc[2], 1.0, 1e-6);
    EXPECT_NEAR(c.got[1].gyro[2], 1475 / 32768.0 * 2000, 1e-3);
    EXPECT_NEAR(c.got[1].quat[3], std::sqrt(0.5), 1e-5);
    EXPECT_EQ(dec.counters().dropped_total(), 0u);
  }
}

TEST(Witmotion, SerialCyclesAtEverySplitPoint) {
  const Bytes s = cat({cycle(1), cycle(2), cycle(3), cycle(4)});
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    WitmotionDecoder dec;
    Collect c;
    dec.feed({s.data(), cut}, c);
    dec.feed({s.data() + cut, s.size() - cut}, c);
    ASSERT_EQ(c.got.size(), 4u) << cut;
    EXPECT_NEAR(c.got[3].gyro[0], 4 / 32768.0 * 2000, 1e-6);
  }
}

TEST(Witmotion, TruncatedTailIsCountedAtFinish) {
  WitmotionDecoder dec;
  Collect c;
  Bytes s = cycle();
  s.resize(s.size() - 3);
  dec.feed(s, c);
  dec.finish(c);
  EXPECT_EQ(dec.counters()[DropReason::kTruncated], 1u);
}

}  // namespace
}  // namespace primus::adapters::codecs
