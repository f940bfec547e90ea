#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "src/capture/export.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

using test::make_record;
using test::TempDir;

#ifndef PRIMUS_PYTHON3
#define PRIMUS_PYTHON3 "/usr/bin/python3"
#endif

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string line; std::getline(is, line);) out.push_back(line);
  return out;
}

/// Runs a command, returns its stdout; fails the test on a non-zero exit.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen " << cmd;
    return out;
  }
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CaptureStore store(db_);
    a_ = make_record(3, "wave", "wrist1", 1);
    b_ = make_record(4, "tap, \"quick\"", "wrist1", 2);  // needs CSV quoting
    c_ = make_record(5, "wave", "ankle", 3);
    c_.label = "wäve";  // non-ASCII label
    a_.id = store.append(a_);
    b_.id = store.append(b_);
    c_.id = store.append(c_);
  }
  TempDir dir_;
  std::filesystem::path db_ = dir_ / "c.db";
  CaptureRecord a_, b_, c_;
};

TEST_F(ExportTest, CsvHasOneRowPerSampleThatReadsBackExactly) {
  std::ostringstream err;
  ExportOptions o{db_, "csv", dir_ / "out.csv", {}, {}};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  EXPECT_NE(err.str().find("exported 3 captures (12 samples)"), std::string::npos) << err.str();
  const auto lines = split_lines(read_all(o.out));
  ASSERT_EQ(lines.size(), 1u + 3 + 4 + 5);
  EXPECT_EQ(lines[0],
            "capture_id,label,device,i,t_s,t_device_us,t_host_ns,acc_x,acc_y,acc_z,gyro_x,gyro_y,"
            "gyro_z,labelled");
  // Second sample of capture a: t = 0.02 s, device time +20 ms, values exact.
  std::istringstream row(lines[2]);
  std::vector<std::string> f;
  for (std::string x; std::getline(row, x, ',');) f.push_back(x);
  ASSERT_EQ(f.size(), 14u);
  EXPECT_EQ(f[13], "1");  // no label_first/label_count: the whole capture is labelled
  EXPECT_EQ(f[0], std::to_string(a_.id));
  EXPECT_EQ(f[1], "wave");
  EXPECT_EQ(f[3], "1");
  EXPECT_EQ(f[4], "0.02");
  EXPECT_EQ(f[5], std::to_string(a_.t_start_device_us + 20'000));
  EXPECT_EQ(f[6], std::to_string(a_.t_start_host_ns + 20'000'000));
  for (int ch = 0; ch < 6; ++ch) EXPECT_EQ(std::stof(f[7 + ch]), a_.at(ch, 1)) << ch;
  EXPECT_EQ(lines[4].rfind(std::to_string(b_.id) + ",\"tap, \"\"quick\"\"\",wrist1,0,", 0), 0u)
      << lines[4];
}

TEST_F(ExportTest, CsvFiltersByLabelAndDevice) {
  std::ostringstream err;
  ExportOptions o{db_, "csv", dir_ / "wave.csv", "wave", {}};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  EXPECT_EQ(split_lines(read_all(o.out)).size(), 1u + 3);
  o = ExportOptions{db_, "csv", dir_ / "ankle.csv", {}, "ankle"};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  EXPECT_EQ(split_lines(read_all(o.out)).size(), 1u + 5);
  o = ExportOptions{db_, "csv", dir_ / "none.csv", "nothing", {}};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  EXPECT_EQ(split_lines(read_all(o.out)).size(), 1u);
}

TEST_F(ExportTest, NpzLoadsInNumpy) {
  std::ostringstream err;
  ExportOptions o{db_, "npz", dir_ / "out.npz", {}, {}};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  const std::string script = dir_ / "load.py";
  std::ofstream(script) << R"(import json, sys, zlib
import numpy as np
z = np.load(sys.argv[1])  # allow_pickle stays False: plain arrays only
d = z["data"]
o = z["offsets"]
caps = [d[o[k]:o[k + 1]].T for k in range(len(z["ids"]))]  # each [6, T], like the model's input
print(json.dumps({
    "files": sorted(z.files),
    "dtype": str(d.dtype), "shape": list(d.shape),
    "ids": z["ids"].tolist(), "offsets": o.tolist(),
    "labels": z["labels"].tolist(), "devices": z["devices"].tolist(),
    "rate_hz": z["rate_hz"].tolist(),
    "t_start_device_us": z["t_start_device_us"].tolist(),
    "crc": [zlib.crc32(np.ascontiguousarray(c, dtype="<f4").tobytes()) for c in caps],
}))
)";
  const nlohmann::json j =
      nlohmann::json::parse(run(std::string(PRIMUS_PYTHON3) + " " + script + " " + o.out.string()));
  EXPECT_EQ(j["files"],
            nlohmann::json({"conversions", "created_wall_ns", "data", "devices", "ids", "labels",
                            "offsets", "rate_hz", "source_rate_hz", "t_end_device_us",
                            "t_end_host_ns", "t_start_device_us", "t_start_host_ns"}));
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_EQ(j["shape"], nlohmann::json({12, 6}));
  EXPECT_EQ(j["ids"], nlohmann::json({a_.id, b_.id, c_.id}));
  EXPECT_EQ(j["offsets"], nlohmann::json({0, 3, 7, 12}));
  EXPECT_EQ(j["labels"], nlohmann::json({"wave", "tap, \"quick\"", "wäve"}));
  EXPECT_EQ(j["devices"], nlohmann::json({"wrist1", "wrist1", "ankle"}));
  EXPECT_EQ(j["rate_hz"], nlohmann::json({50.0, 50.0, 50.0}));
  EXPECT_EQ(j["t_start_device_us"][2], c_.t_start_device_us);
  // Each capture, transposed back to [6, T], is bit-identical to what was stored.
  const CaptureRecord* recs[] = {&a_, &b_, &c_};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(j["crc"][k].get<std::uint32_t>(),
              crc32(recs[k]->data.data(), recs[k]->data.size() * 4))
        << k;
  }
}

TEST_F(ExportTest, EmptyNpzStillLoads) {
  std::ostringstream err;
  ExportOptions o{db_, "npz", dir_ / "empty.npz", "nothing", {}};
  ASSERT_EQ(run_captures_export(o, err), 0) << err.str();
  const std::string out = run(std::string(PRIMUS_PYTHON3) +
                              " -c 'import sys, numpy as np; z = np.load(sys.argv[1]); "
                              "print(z[\"data\"].shape, z[\"offsets\"].tolist(), "
                              "z[\"labels\"].shape)' " +
                              o.out.string());
  EXPECT_EQ(out, "(0, 6) [0] (0,)\n");
}

TEST_F(ExportTest, ErrorsAreReportedAndLeaveNoFile) {
  std::ostringstream err;
  ExportOptions o{db_, "parquet", dir_ / "x", {}, {}};
  EXPECT_EQ(run_captures_export(o, err), 2);
  EXPECT_NE(err.str().find("must be csv or npz"), std::string::npos);
  err.str("");
  o = ExportOptions{dir_ / "missing.db", "csv", dir_ / "x.csv", {}, {}};
  EXPECT_EQ(run_captures_export(o, err), 1);
  EXPECT_NE(err.str().find("missing.db"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(o.out));
  err.str("");
  o = ExportOptions{db_, "npz", dir_ / "no-such-dir" / "x.npz", {}, {}};
  EXPECT_EQ(run_captures_export(o, err), 1);
  EXPECT_NE(err.str().find("cannot create"), std::string::npos) << err.str();
  // Nothing but the db and its WAL files is left in the directory.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().rfind("c.db", 0), 0u) << e.path();
  }
}

}  // namespace
}  // namespace primus::capture
