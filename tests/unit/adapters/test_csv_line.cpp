#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/codecs/csv_line.h"
#include "alloc_counter.h"

namespace primus::adapters::codecs {
namespace {

CsvOptions options(const std::vector<std::string>& names, char sep = ',') {
  CsvOptions o;
  o.separator = sep;
  for (const auto& n : names) {
    CsvColumn c{};
    EXPECT_TRUE(parse_csv_column(n, c)) << n;
    o.columns.push_back(c);
  }
  return o;
}

struct Collect {
  std::vector<Decoded> got;
  void operator()(const Decoded& d) { got.push_back(d); }
};

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const std::vector<std::string> kAll{"device", "seq",    "t_ms",   "acc_x",  "acc_y",  "acc_z",
                                    "gyro_x", "gyro_y", "gyro_z", "quat_w", "quat_x", "quat_y",
                                    "quat_z", "mag_x",  "mag_y",  "mag_z"};

TEST(CsvLine, ParsesEveryColumnKind) {
  CsvLineDecoder dec(options(kAll), Sync::kAligned);
  Collect c;
  dec.feed(bytes("3, 17, 1500.25, 0.1,-0.2,9.81, 1e-3,2,3, 1,0,0,0, 40,41,+42\r\n"), c);
  ASSERT_EQ(c.got.size(), 1u);
  const auto& d = c.got[0];
  EXPECT_TRUE(d.has_device_id);
  EXPECT_EQ(d.device_id, 3u);
  const Sample& s = d.sample;
  EXPECT_EQ(s.fields, kFieldAcc | kFieldGyro | kFieldQuat | kFieldMag | kFieldSeq | kFieldTDevice);
  EXPECT_EQ(s.seq, 17u);
  EXPECT_EQ(s.t_device_us, 1'500'250);
  EXPECT_FLOAT_EQ(s.acc[1], -0.2f);
  EXPECT_FLOAT_EQ(s.acc[2], 9.81f);
  EXPECT_FLOAT_EQ(s.gyro[0], 0.001f);
  EXPECT_FLOAT_EQ(s.quat[0], 1.0f);
  EXPECT_FLOAT_EQ(s.mag[2], 42.0f);
}

TEST(CsvLine, FieldsFollowTheColumnsPresent) {
  CsvLineDecoder dec(options({"skip", "acc_x", "acc_y", "acc_z", "t_s"}, ';'), Sync::kAligned);
  Collect c;
  dec.feed(bytes("ignored;1;2;3;0.5;extra;fields\n"), c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].sample.fields, kFieldAcc | kFieldTDevice);
  EXPECT_EQ(c.got[0].sample.t_device_us, 500'000);
  EXPECT_FALSE(c.got[0].has_device_id);
  EXPECT_THROW(CsvLineDecoder(options({"gyro_x", "gyro_y", "gyro_z"})), std::invalid_argument);
}

TEST(CsvLine, BadLinesAreCountedAndSkipped) {
  CsvLineDecoder dec(options({"t_us", "acc_x", "acc_y", "acc_z"}), Sync::kAligned);
  Collect c;
  const std::string overlong(CsvLineDecoder::kMaxLine + 10, '1');
  dec.feed(bytes("t,ax,ay,az\n"          // a header row: not numeric
                 "1,2,3\n"               // too few fields
                 "2,1,nan,3\n"           // not finite
                 "3,1,2,3x\n"            // trailing junk in a number
                 "-4,1,2,3\n"            // negative time
                 "\n# comment\n   \r\n"  // skipped, not counted
                 + overlong +
                 "\n"
                 "5,1,2,3\n"),
           c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].sample.t_device_us, 5);
  EXPECT_EQ(dec.counters()[DropReason::kBadValue], 5u);
  EXPECT_EQ(dec.counters()[DropReason::kBadLength], 1u);
}

TEST(CsvLine, EverySplitPointGivesTheSameLines) {
  const std::string text = "junk-from-mid-line\n1,0.5,0.25,9.5\n2,0.5,0.25,9.5\r\n3,0.5,0.25,9.5\n";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    CsvLineDecoder dec(options({"seq", "acc_x", "acc_y", "acc_z"}));  // hunting: first line skipped
    Collect c;
    dec.feed(bytes(text.substr(0, cut)), c);
    dec.feed(bytes(text.substr(cut)), c);
    ASSERT_EQ(c.got.size(), 3u) << cut;
    EXPECT_EQ(c.got[2].sample.seq, 3u);
    EXPECT_EQ(dec.counters()[DropReason::kGarbage], 1u);
    EXPECT_EQ(dec.counters().dropped_total(), 1u);
  }
}

TEST(CsvLine, DatagramLastLineNeedsNoNewline) {
  CsvLineDecoder dec(options({"acc_x", "acc_y", "acc_z"}), Sync::kAligned);
  Collect c;
  dec.feed(bytes("1,2,3\n4,5,6"), c);
  EXPECT_EQ(c.got.size(), 1u);
  dec.finish(c);
  ASSERT_EQ(c.got.size(), 2u);
  EXPECT_FLOAT_EQ(c.got[1].sample.acc[2], 6.0f);
}

TEST(CsvLine, DecodingAllocatesNothing) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += std::to_string(i) + ",0.1,0.2,9.8,0.01,0.02,0.03\n";
  CsvLineDecoder dec(options({"seq", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"}),
                     Sync::kAligned);
  std::size_t n = 0;
  auto count = [&n](const Decoded&) { ++n; };
  test::AllocationScope scope;
  for (std::size_t off = 0; off < text.size(); off += 61)
    dec.feed(bytes(text.substr(0, 0)), count),
        dec.feed({reinterpret_cast<const std::uint8_t*>(text.data()) + off,
                  std::min<std::size_t>(61, text.size() - off)},
                 count);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(n, 500u);
}

}  // namespace
}  // namespace primus::adapters::codecs
