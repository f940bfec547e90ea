// The JSON sample codec (MQTT payloads): field renames and dotted paths, arrays of samples,
// groups complete or absent, times and sequence numbers, and every kind of bad payload counted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/codecs/json_sample.h"

namespace primus::adapters::codecs {
namespace {

std::vector<Decoded> decode(JsonSampleDecoder& d, const std::string& payload) {
  std::vector<Decoded> out;
  auto sink = [&](const Decoded& x) { out.push_back(x); };
  d.reset(Sync::kAligned);
  d.feed({reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, sink);
  d.finish(sink);
  return out;
}

TEST(JsonSample, DefaultKeysAreTheCsvColumnNames) {
  JsonSampleDecoder d{JsonOptions{}};
  const auto s = decode(d, R"({"seq":7,"t_ms":1500,"acc_x":0.5,"acc_y":-1,"acc_z":9.8,
                               "gyro_x":0.1,"gyro_y":0.2,"gyro_z":0.3})");
  ASSERT_EQ(s.size(), 1u);
  const auto& x = s[0].sample;
  EXPECT_TRUE(x.has(kFieldAcc));
  EXPECT_TRUE(x.has(kFieldGyro));
  EXPECT_FALSE(x.has(kFieldQuat));
  EXPECT_TRUE(x.has(kFieldSeq));
  EXPECT_EQ(x.seq, 7u);
  EXPECT_EQ(x.t_device_us, 1'500'000);
  EXPECT_FLOAT_EQ(x.acc[1], -1.0f);
  EXPECT_FLOAT_EQ(x.gyro[2], 0.3f);
  EXPECT_FALSE(s[0].has_device_id);
}

TEST(JsonSample, RenamesDottedPathsAndArrays) {
  JsonOptions o;
  o.rename({"acc_x=a.x", "acc_y=a.y", "acc_z=a.z", "quat_w=q.0w", "quat_x=q.x", "quat_y=q.y",
            "quat_z=q.z", "t_us=time"});
  JsonSampleDecoder d(o);
  const auto s = decode(d, R"([{"time":10,"a":{"x":1,"y":2,"z":3},
                                "q":{"0w":1,"x":0,"y":0,"z":0}},
                               {"time":20,"a":{"x":4,"y":5,"z":6}}])");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].sample.has(kFieldQuat));
  EXPECT_FLOAT_EQ(s[0].sample.quat[0], 1.0f);
  EXPECT_FALSE(s[1].sample.has(kFieldQuat));
  EXPECT_EQ(s[1].sample.t_device_us, 20);
  EXPECT_FLOAT_EQ(s[1].sample.acc[2], 6.0f);
  EXPECT_EQ(d.counters().frames, 2u);
  EXPECT_THROW(o.rename({"bogus=x"}), std::invalid_argument);
  EXPECT_THROW(o.rename({"acc_x"}), std::invalid_argument);
}

TEST(JsonSample, TimeUnitsPreferMicroseconds) {
  JsonSampleDecoder d{JsonOptions{}};
  EXPECT_EQ(decode(d, R"({"t_s":1.25,"acc_x":0,"acc_y":0,"acc_z":1})")[0].sample.t_device_us,
            1'250'000);
  EXPECT_EQ(decode(d, R"({"t_s":9,"t_us":5,"acc_x":0,"acc_y":0,"acc_z":1})")[0].sample.t_device_us,
            5);
  EXPECT_FALSE(decode(d, R"({"acc_x":0,"acc_y":0,"acc_z":1})")[0].sample.has(kFieldTDevice));
}

TEST(JsonSample, BadPayloadsAreDroppedAndCountedByReason) {
  JsonSampleDecoder d{JsonOptions{}};
  const std::vector<std::string> bad_value{
      "",  // nothing: not counted (an empty unit)
      "{\"acc_x\": 1",
      "42",
      R"("text")",
      R"({"acc_x":1,"acc_y":2})",                        // accelerometer incomplete
      R"({"acc_x":1,"acc_y":2,"acc_z":3,"gyro_x":1})",   // gyro in part
      R"({"acc_x":"1","acc_y":2,"acc_z":3})",            // a string, not a number
      R"({"acc_x":1,"acc_y":2,"acc_z":3,"seq":-1})",     // negative sequence number
      R"({"acc_x":1,"acc_y":2,"acc_z":3,"seq":1.5})",    // fractional sequence number
      R"({"acc_x":1,"acc_y":2,"acc_z":3,"t_s":1e300})",  // time out of range
      R"({"acc_x":1,"acc_y":2,"acc_z":3,"t_ms":-5})",    // negative time
  };
  for (const auto& p : bad_value) EXPECT_TRUE(decode(d, p).empty()) << p;
  EXPECT_EQ(d.counters()[DropReason::kBadValue], bad_value.size() - 1);
  // One bad element of an array is one drop; the good ones still come.
  EXPECT_EQ(decode(d, R"([{"acc_x":1,"acc_y":2,"acc_z":3}, 5, {"acc_x":1}])").size(), 1u);
  EXPECT_EQ(d.counters()[DropReason::kBadValue], bad_value.size() + 1);
  // Too long, in one piece or in several.
  std::string big = "[" + std::string(JsonSampleDecoder::kMaxPayload, ' ') + "]";
  EXPECT_TRUE(decode(d, big).empty());
  EXPECT_EQ(d.counters()[DropReason::kBadLength], 1u);
  // After all that, a good one decodes.
  EXPECT_EQ(decode(d, R"({"acc_x":1,"acc_y":2,"acc_z":3})").size(), 1u);
}

TEST(JsonSample, ChunkedFeedIsOnePayload) {
  JsonSampleDecoder d{JsonOptions{}};
  const std::string p = R"({"acc_x":1,"acc_y":2,"acc_z":3})";
  std::vector<Decoded> out;
  auto sink = [&](const Decoded& x) { out.push_back(x); };
  for (std::size_t i = 0; i < p.size(); i += 3)
    d.feed({reinterpret_cast<const std::uint8_t*>(p.data()) + i,
            std::min<std::size_t>(3, p.size() - i)},
           sink);
  EXPECT_TRUE(out.empty());  // nothing before the unit is complete
  d.finish(sink);
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace primus::adapters::codecs
