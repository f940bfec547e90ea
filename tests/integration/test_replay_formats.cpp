// Replay formats: plain CSV with a time unit, and the Kaggle CMI wrist-data layout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <vector>

#include "adapters/csv_recording.h"
#include "adapters/source.h"

namespace primus::adapters {
namespace {
namespace fs = std::filesystem;

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text) {
    path = fs::temp_directory_path() /
           ("primus_fmt_" + std::to_string(::getpid()) + "_" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".csv");
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// Columns as in the competition's train.csv (thermopile and time-of-flight columns shortened).
const char* kCmiHeader =
    "row_id,sequence_type,sequence_id,sequence_counter,subject,orientation,behavior,phase,gesture,"
    "acc_x,acc_y,acc_z,rot_w,rot_x,rot_y,rot_z,thm_1,tof_1_v0\n";

std::string cmi_rows() {
  std::string s = kCmiHeader;
  for (int seq = 0; seq < 2; ++seq) {
    for (int k = 0; k < 5; ++k) {
      const std::string id = seq == 0 ? "SEQ_000007" : "SEQ_000008";
      s += id + "_" + std::to_string(k) + ",Target," + id + "," + std::to_string(k) +
           ",SUBJ_059520,Seated Straight,Performs gesture,Gesture,Cheek - pinch skin," +
           std::to_string(6.0 + k) + ",-1.5,-8.2," + (k == 2 && seq == 1 ? "," : "0.9,") +
           "0.1,0.2,0.3,28.9,-1\n";
    }
  }
  return s;
}

TEST(ReplayFormats, CmiSequencesAreTimedByCounterAndSeparatedByAGap) {
  TempFile f(cmi_rows());
  DeviceConfig d;
  d.id = "cmi";
  d.adapter = AdapterKind::kReplay;
  d.format = ReplayFormat::kCmi;
  d.path = f.path.string();
  d.rate_hz = 10;
  d.max_gap_s = 0.5;
  const Recording r = read_csv_recording(d, 0);
  ASSERT_EQ(r.samples.size(), 9u);  // one row has an empty rot_w
  EXPECT_EQ(r.bad_rows, 1u);
  EXPECT_EQ(r.samples[1].t_device_us - r.samples[0].t_device_us, 100'000);  // 10 Hz
  EXPECT_FLOAT_EQ(r.samples[1].acc[0], 7.0f);
  EXPECT_TRUE(r.samples[0].has(kFieldQuat));
  EXPECT_FALSE(r.samples[0].has(kFieldGyro));
  EXPECT_FLOAT_EQ(r.samples[0].quat[0], 0.9f);  // rot_w first
  EXPECT_FLOAT_EQ(r.samples[0].quat[3], 0.3f);
  // The second sequence starts max_gap_s + 1 s after the first ends.
  EXPECT_EQ(r.samples[5].t_device_us - r.samples[4].t_device_us, 1'500'000);
  EXPECT_EQ(r.samples[5].seq, r.samples[4].seq + 1);

  d.sequence_id = "SEQ_000008";
  const Recording one = read_csv_recording(d, 0);
  ASSERT_EQ(one.samples.size(), 4u);
  EXPECT_EQ(one.samples[0].t_device_us, 0);
  EXPECT_FLOAT_EQ(one.samples[0].acc[0], 6.0f);
  d.sequence_id = "SEQ_404";
  EXPECT_THROW(read_csv_recording(d, 0), std::runtime_error);
}

TEST(ReplayFormats, CsvTimeUnitAndSourceEndToEnd) {
  TempFile f("time_ms;ax;ay;az;gx;gy;gz\n0;0;0;9.8;0;0;0\n20;0;0;9.8;0;0;0\n40;0;0;9.8;0;0;1\n");
  DeviceConfig d;
  d.id = "ms";
  d.adapter = AdapterKind::kReplay;
  d.path = f.path.string();
  d.time_column = "time_ms";
  d.time_unit = "ms";
  d.speed = 0;
  boost::asio::io_context io;
  std::vector<Sample> got;
  auto src = make_source(
      d, 0,
      SourceContext{io, SteadyTimeSource::instance(), [&](const Sample& s) { got.push_back(s); },
                    [](SourceState, const std::string&) {}});
  src->start();
  io.run_for(std::chrono::seconds(5));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].t_device_us, 40'000);
  EXPECT_FLOAT_EQ(got[2].gyro[2], 1.0f);
}

}  // namespace
}  // namespace primus::adapters

namespace primus::adapters {
namespace {

TEST(ReplayFormats, CaptureExportCsvIsReplayedCaptureByCapture) {
  // As `primusctl captures export --format csv` writes it; a label with a comma is quoted.
  std::string text =
      "capture_id,label,device,i,t_s,t_device_us,t_host_ns,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_"
      "z\n";
  for (int c = 1; c <= 2; ++c)
    for (int i = 0; i < 3; ++i)
      text += std::to_string(c) + (c == 1 ? ",\"wave, left\"" : ",tap") + ",wrist," +
              std::to_string(i) + "," + std::to_string(i * 0.02) + ",123,456," + std::to_string(c) +
              ",0,9.8,0.1,0.2," + std::to_string(i) + "\n";
  TempFile f(text);
  DeviceConfig d;
  d.id = "cap";
  d.adapter = AdapterKind::kReplay;
  d.format = ReplayFormat::kCapture;
  d.path = f.path.string();
  d.rate_hz = 50;
  d.max_gap_s = 0.5;
  const Recording r = read_csv_recording(d, 0);
  ASSERT_EQ(r.samples.size(), 6u);
  EXPECT_EQ(r.bad_rows, 0u);
  EXPECT_EQ(r.samples[1].t_device_us, 20'000);
  EXPECT_FLOAT_EQ(r.samples[0].acc[0], 1.0f);  // the quoted comma did not shift the columns
  EXPECT_FLOAT_EQ(r.samples[2].gyro[2], 2.0f);
  EXPECT_EQ(r.samples[3].t_device_us - r.samples[2].t_device_us, 1'500'000);
  d.sequence_id = "2";
  const Recording one = read_csv_recording(d, 0);
  ASSERT_EQ(one.samples.size(), 3u);
  EXPECT_FLOAT_EQ(one.samples[0].acc[0], 2.0f);
}

}  // namespace
}  // namespace primus::adapters
