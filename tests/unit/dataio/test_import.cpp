// Import of labelled recordings (src/dataio/importer.h): every format, the labelling rule, strict
// errors that name the line and column, all-or-nothing stores.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/capture/capture_store.h"
#include "src/capture/export.h"
#include "src/dataio/importer.h"
#include "src/dataio/npz.h"
#include "src/training/dataset.h"
#include "tests/unit/dataio/dataio_test_util.h"

using namespace primus;
using namespace primus::dataio;
using namespace primus::dataio::test;

namespace {

ImportOptions options(const TempDir& dir, const std::string& file,
                      RecordingFormat format = RecordingFormat::kCsv) {
  ImportOptions o;
  o.cfg = default_config();
  o.dev = replay_device(file);
  o.format = format;
  o.labels.null_label = o.cfg.events.null_label;
  o.db = dir / "captures.db";
  return o;
}

std::vector<capture::CaptureRecord> all(const std::filesystem::path& db) {
  capture::CaptureStore s(db);
  std::vector<capture::CaptureRecord> out;
  s.for_each({}, [&](const capture::CaptureRecord& r) { out.push_back(r); });
  return out;
}

}  // namespace

TEST(Import, CsvLabelColumnGivesOneCapturePerSegmentWithTheDaemonsContext) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  // 100 Hz, 30 s: wave 6-8 s (2 s), tap 15-15.6 s, circle 20-27 s (longer than a window).
  write_csv(file, 100, 30, {{"wave", 6, 8}, {"tap", 15, 15.6}, {"circle", 20, 27}});
  auto o = options(dir, file);
  const auto r = import_recording(o);
  EXPECT_EQ(r.rows, 3000);
  EXPECT_EQ(r.bad_rows, 0);
  const auto caps = all(o.db);
  std::map<std::string, int> n;
  for (const auto& c : caps) ++n[c.label];
  EXPECT_EQ(n["wave"], 1);
  EXPECT_EQ(n["tap"], 1);
  EXPECT_EQ(n["circle"], 1);
  // Null runs 0-6 s and 8-15 s hold a window (5 s) and are stored; 15.6-20 and 27-30 are shorter.
  EXPECT_EQ(n["null"], 2);
  EXPECT_EQ(r.counts.null_too_short, 2);
  for (const auto& c : caps) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(c.device, "wrist");
    EXPECT_DOUBLE_EQ(c.rate_hz, 50.0);
    const auto span = training::labelled_span(c);
    const auto j = nlohmann::json::parse(c.conversion);
    EXPECT_EQ(j["import"]["format"], "csv");
    EXPECT_NE(j["import"]["file"].get<std::string>().find("rec.csv"), std::string::npos);
    // The data inside the span is the span's own (acc_x = 5 + index), outside it is 0.
    const float expect = c.label == "wave"     ? 5.f
                         : c.label == "tap"    ? 6.f
                         : c.label == "circle" ? 7.f
                                               : 0.f;
    EXPECT_NEAR(c.at(0, span.first + span.count / 2), expect, 0.05);
    if (c.label == "wave") {
      EXPECT_NEAR(static_cast<double>(span.count), 100, 2);     // 2 s at 50 Hz
      EXPECT_NEAR(static_cast<double>(span.first), 250, 2);     // a window of context before
      EXPECT_NEAR(static_cast<double>(c.n_samples()), 600, 4);  // and after
      EXPECT_NEAR(c.at(0, 10), 0.f, 1e-3);
    }
    if (c.label == "circle") {
      // Longer than a window: context too, the 3 s after it clipped to the recording's end.
      EXPECT_NEAR(static_cast<double>(span.first), 250, 2);
      EXPECT_NEAR(static_cast<double>(span.count), 350, 2);
      EXPECT_NEAR(static_cast<double>(c.n_samples()), 750, 4);
    }
  }
  EXPECT_EQ(r.captures.size(), caps.size());
  EXPECT_GT(r.captures.front().id, 0);
}

TEST(Import, DryRunStoresNothingAndNoNullSkipsNullSegments) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 20, {{"wave", 6, 8}});
  auto o = options(dir, file);
  o.dry_run = true;
  const auto r = import_recording(o);
  EXPECT_FALSE(r.captures.empty());
  EXPECT_EQ(r.captures.front().id, 0);
  EXPECT_FALSE(std::filesystem::exists(o.db));
  o.dry_run = false;
  o.include_null = false;
  (void)import_recording(o);
  const auto caps = all(o.db);
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].label, "wave");
}

TEST(Import, UnitsAndAxisMapOfTheDeviceApply) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 100, 20, {{"wave", 6, 12}});
  auto o = options(dir, file);
  o.dev.acc_unit = AccUnit::kG;  // the file's 5 g become 49 m/s²
  o.include_null = false;
  (void)import_recording(o);
  const auto caps = all(o.db);
  ASSERT_EQ(caps.size(), 1u);
  const auto span = training::labelled_span(caps[0]);  // past the context before the wave
  EXPECT_NEAR(caps[0].at(0, span.first + span.count / 2), 5.0 * 9.80665, 0.1);
}

TEST(Import, BadRowIsRefusedWithLineAndColumnNamedAndNothingStored) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 20, {{"wave", 6, 8}});
  {
    // Line 101 (the header is line 1) gets a bad acc_y.
    std::ifstream in(file);
    std::stringstream ss;
    std::string line;
    int k = 0;
    while (std::getline(in, line)) {
      if (++k == 101) line = "2,0,abc,9.81,0,0,0,";
      ss << line << "\n";
    }
    std::ofstream(file) << ss.str();
  }
  auto o = options(dir, file);
  try {
    (void)import_recording(o);
    FAIL() << "a bad row was accepted";
  } catch (const ImportError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("line 101"), std::string::npos) << what;
    EXPECT_NE(what.find("column acc_y"), std::string::npos) << what;
    EXPECT_NE(what.find("abc"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(o.db));
  o.labels.strict = false;  // --skip-bad-rows
  const auto r = import_recording(o);
  EXPECT_EQ(r.bad_rows, 1);
}

TEST(Import, MissingLabelColumnIsNamed) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 20, {{"wave", 6, 8}});
  auto o = options(dir, file);
  o.labels.label_column = "gesture";
  try {
    (void)import_recording(o);
    FAIL();
  } catch (const ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("no label column \"gesture\""), std::string::npos)
        << e.what();
  }
}

TEST(Import, CmiLayoutWithPhaseColumn) {
  TempDir dir;
  const std::string file = dir / "cmi.csv";
  {
    std::ofstream f(file);
    f << "row_id,sequence_id,sequence_counter,behavior,gesture,acc_x,acc_y,acc_z,rot_w,rot_x,rot_y,"
         "rot_z\n";
    // Two sequences of 8 s at 50 Hz: 3 s of transition, then 5 s of the gesture.
    const char* gestures[] = {"Wave hello", "Text on phone"};
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < 400; ++i) {
        const double t = i / 50.0;
        const bool act = t >= 3.0;
        const double a = 0.3 * t;  // a slow rotation about z
        f << "r" << s << "_" << i << ",SEQ_" << s << "," << i << ","
          << (act ? "Performs gesture" : "Relaxes and moves hand to target location") << ","
          << gestures[s] << "," << (act ? 3.0 + s : 0.0) << ",0,9.8," << std::cos(a / 2) << ",0,0,"
          << std::sin(a / 2) << "\n";
      }
    }
  }
  auto o = options(dir, file, RecordingFormat::kCmi);
  o.dev.rate_hz = 50;  // CMI has no time column: sample k is at k / rate_hz
  o.labels.phase_column = "behavior";
  o.include_null = false;
  const auto r = import_recording(o);
  const auto caps = all(o.db);
  ASSERT_EQ(caps.size(), 2u);
  EXPECT_EQ(caps[0].label, "Wave hello");
  EXPECT_EQ(caps[1].label, "Text on phone");
  for (const auto& c : caps) {
    const auto span = training::labelled_span(c);
    // The 5 s gesture phase, less the few samples the pipeline needs at the start of a sequence
    // (the resampler's history and the centred quaternion rate).
    EXPECT_NEAR(static_cast<double>(span.count), 248, 5);
    // Gyro from the quaternion: 0.3 rad/s about z.
    EXPECT_NEAR(c.at(5, span.first + 100), 0.3, 0.02);
  }
  EXPECT_EQ(r.counts.segments.at("null"), 2);
}

TEST(Import, CaptureExportCsvAndNpzRoundTrip) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 30, {{"wave", 6, 8}, {"circle", 14, 21}});
  auto o = options(dir, file);
  o.include_null = false;
  (void)import_recording(o);
  const auto first = all(o.db);
  ASSERT_EQ(first.size(), 2u);
  for (const char* fmt : {"csv", "npz"}) {
    SCOPED_TRACE(fmt);
    const std::string out = dir / (std::string("export.") + fmt);
    std::ostringstream err;
    capture::ExportOptions eo{o.db, fmt, out, {}, {}};
    ASSERT_EQ(capture::run_captures_export(eo, err), 0) << err.str();
    auto o2 = options(
        dir, out, fmt == std::string("csv") ? RecordingFormat::kCapture : RecordingFormat::kNpz);
    o2.db = dir / (std::string("again-") + fmt + ".db");
    o2.include_null = false;
    (void)import_recording(o2);
    const auto again = all(o2.db);
    ASSERT_EQ(again.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(again[i].label, first[i].label);
      const auto a = training::labelled_span(first[i]);
      const auto b = training::labelled_span(again[i]);
      // Each capture is a sequence of its own: the pipeline's start-up takes a few samples.
      EXPECT_NEAR(static_cast<double>(b.count), static_cast<double>(a.count), 5);
      EXPECT_NEAR(again[i].at(0, b.first + b.count / 2), first[i].at(0, a.first + a.count / 2),
                  0.05);
    }
  }
}

TEST(Import, NpzRawLayoutFromNumpyCompressed) {
  TempDir dir;
  const std::string npz = dir / "rec.npz";
  const std::string script = dir / "make.py";
  std::ofstream(script) << "import numpy as np, sys\n"
                           "n = 50 * 20\n"
                           "t = np.arange(n) / 50.0\n"
                           "acc = np.zeros((n, 3), np.float32); acc[:, 2] = 9.81\n"
                           "lab = np.array([''] * n, dtype='<U8')\n"
                           "m = (t >= 6) & (t < 8); lab[m] = 'wave'; acc[m, 0] = 5\n"
                           "gyro = np.zeros((n, 3), np.float64)\n"
                           "np.savez_compressed(sys.argv[1], acc=acc, gyro=gyro, label=lab, t=t)\n";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + npz).c_str()), 0);
  auto o = options(dir, npz, RecordingFormat::kNpz);
  o.include_null = false;
  (void)import_recording(o);
  const auto caps = all(o.db);
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].label, "wave");
  const auto span = training::labelled_span(caps[0]);
  EXPECT_NEAR(static_cast<double>(span.count), 100, 2);
  EXPECT_NEAR(caps[0].at(0, span.first + 50), 5.f, 0.05);
}

TEST(Import, NpzErrorsNameTheArray) {
  TempDir dir;
  const std::string npz = dir / "bad.npz";
  const std::string script = dir / "make.py";
  std::ofstream(script) << "import numpy as np, sys\n"
                           "np.savez(sys.argv[1], acc=np.zeros((10, 2)), label=np.zeros(10))\n";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + npz).c_str()), 0);
  auto o = options(dir, npz, RecordingFormat::kNpz);
  try {
    (void)import_recording(o);
    FAIL();
  } catch (const ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("array 'acc' has shape (10,2)"), std::string::npos)
        << e.what();
  }
}

TEST(Import, AllOrNothingWhenTheStoreFails) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 60, {{"wave", 6, 8}, {"tap", 20, 21}, {"circle", 30, 40}});
  auto o = options(dir, file);
  // A store too small for the whole file: max_bytes below the import's total.
  o.cfg.capture.max_bytes = 24 * 300;
  try {
    (void)import_recording(o);
    FAIL();
  } catch (const ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("nothing imported"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(all(o.db).empty());
}

TEST(CaptureStoreAppendAll, OneInvalidRecordStoresNone) {
  TempDir dir;
  capture::CaptureStore s(dir / "c.db");
  auto a = capture::test::make_record(100);
  auto b = capture::test::make_record(100, "tap");
  b.data[7] = std::nanf("");
  EXPECT_THROW((void)s.append_all({a, a, b}), capture::CaptureError);
  EXPECT_TRUE(s.list().empty());
  b = capture::test::make_record(50, "tap");
  const auto ids = s.append_all({a, b});
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], ids[0] + 1);
  EXPECT_EQ(s.list().size(), 2u);
  EXPECT_TRUE(s.integrity_check().ok);
}

TEST(CaptureStoreAppendAll, StorageFullMidwayRollsBackEverything) {
  TempDir dir;
  capture::CaptureStore s(dir / "c.db");
  (void)s.append(capture::test::make_record(10));
  s.set_max_page_count(20);  // a few pages beyond the schema: the batch cannot fit
  std::vector<capture::CaptureRecord> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(capture::test::make_record(2000, "wave", "w", i + 2));
  EXPECT_THROW((void)s.append_all(batch), capture::StorageFullError);
  EXPECT_EQ(s.list().size(), 1u);
  EXPECT_TRUE(s.integrity_check().ok);
}
