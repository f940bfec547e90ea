#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>

#include "src/capture/capture_record.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

using test::make_record;

TEST(CaptureRecord, ValidRecordPasses) { EXPECT_NO_THROW(validate_capture(make_record(250))); }

struct BadCase {
  const char* name;
  std::function<void(CaptureRecord&)> spoil;
  const char* message_part;
};

TEST(CaptureRecord, RejectsBadInputNamingTheField) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const BadCase cases[] = {
      {"empty label", [](CaptureRecord& r) { r.label.clear(); }, "label is empty"},
      {"empty device", [](CaptureRecord& r) { r.device.clear(); }, "device is empty"},
      {"long label", [](CaptureRecord& r) { r.label = std::string(65, 'a'); }, "at most 64"},
      {"control char", [](CaptureRecord& r) { r.label = "wa\nve"; }, "control characters"},
      {"nan", [nan](CaptureRecord& r) { r.data[3 * 10 + 7] = nan; }, "data[3][7] = nan"},
      {"inf", [inf](CaptureRecord& r) { r.data[0] = -inf; }, "data[0][0] = -inf"},
      {"not 6 channels", [](CaptureRecord& r) { r.data.pop_back(); }, "multiple of 6"},
      {"no data", [](CaptureRecord& r) { r.data.clear(); }, "positive multiple of 6"},
      {"zero rate", [](CaptureRecord& r) { r.rate_hz = 0; }, "rate_hz = 0"},
      {"nan source rate",
       [](CaptureRecord& r) { r.source_rate_hz = std::numeric_limits<double>::quiet_NaN(); },
       "source_rate_hz"},
      {"device time backwards",
       [](CaptureRecord& r) { r.t_end_device_us = r.t_start_device_us - 1; }, "t_end_device_us"},
      {"host time backwards", [](CaptureRecord& r) { r.t_end_host_ns = r.t_start_host_ns - 1; },
       "t_end_host_ns"},
      {"span disagrees with samples", [](CaptureRecord& r) { r.t_end_host_ns += 2 * 20'000'000LL; },
       "samples at 50 Hz"},
      {"conversion not json", [](CaptureRecord& r) { r.conversion = "{units: g"; },
       "must be a JSON object"},
      {"conversion not object", [](CaptureRecord& r) { r.conversion = "[1,2]"; },
       "must be a JSON object"},
  };
  for (const auto& c : cases) {
    CaptureRecord r = make_record(10);
    c.spoil(r);
    try {
      validate_capture(r);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const CaptureError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
}

TEST(CaptureRecord, EmptyConversionIsAllowed) {
  CaptureRecord r = make_record(10);
  r.conversion.clear();
  EXPECT_NO_THROW(validate_capture(r));
}

TEST(CaptureRecord, OneSampleCaptureHasZeroSpan) {
  CaptureRecord r = make_record(1);
  EXPECT_EQ(r.t_end_host_ns, r.t_start_host_ns);
  EXPECT_NO_THROW(validate_capture(r));
}

TEST(CaptureRecord, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
  // Continuation equals one pass.
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);
}

TEST(CaptureRecord, BlobIsLittleEndianFloat32AndRoundTrips) {
  const std::vector<float> v{1.0f, -2.5f, 3.0e-7f};
  const auto blob = encode_capture_data(v);
  ASSERT_EQ(blob.size(), 12u);
  // 1.0f = 0x3F800000, little-endian.
  EXPECT_EQ(blob[0], 0x00);
  EXPECT_EQ(blob[3], 0x3F);
  EXPECT_EQ(blob[2], 0x80);
  EXPECT_EQ(decode_capture_data(blob.data(), blob.size()), v);
  EXPECT_THROW((void)decode_capture_data(blob.data(), 7), CaptureError);
}

}  // namespace
}  // namespace primus::capture
