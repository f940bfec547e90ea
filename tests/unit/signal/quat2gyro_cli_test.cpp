#include "src/signal/quat2gyro_cli.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace primus::signal {
namespace {

std::vector<std::vector<std::string>> parse(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) f.push_back(c);
    rows.push_back(f);
  }
  return rows;
}

TEST(Quat2Gyro, OneRowPerInputRowBadRowsCountedByReason) {
  // rotation about z at 1 rad/s, scalar last, odd column order, custom names
  std::ostringstream csv;
  csv.precision(17);
  csv << "a,time,z,x,y,w\n";
  for (int i = 0; i < 8; ++i) {
    const double t = 0.01 * i, h = 0.5 * t;
    if (i == 3) {
      csv << "1," << t << ",0,0,0,0\n";  // zero quaternion
    } else if (i == 5) {
      csv << "1," << t << ",nope," << 0 << ",0,1\n";  // unparsable
    } else if (i == 6) {
      csv << "1," << 0.0 << "," << std::sin(h) << ",0,0," << std::cos(h) << "\n";  // time back
    } else {
      csv << "1," << t << "," << 2 * std::sin(h) << ",0,0," << 2 * std::cos(h) << "\n";  // norm 2
    }
  }
  std::istringstream in(csv.str());
  std::ostringstream out;
  Quat2GyroOptions opt;
  opt.time_col = "time";
  opt.quat_cols = {"x", "y", "z", "w"};
  opt.order = QuatOrder::kXyzw;
  Quat2GyroReport rep;
  std::string err;
  ASSERT_TRUE(quat2gyro_stream(in, out, opt, rep, err)) << err;
  EXPECT_EQ(rep.rows, 8u);
  EXPECT_EQ(rep.bad_quat, 1u);
  EXPECT_EQ(rep.bad_parse, 1u);
  EXPECT_EQ(rep.bad_time, 1u);
  EXPECT_EQ(rep.renormalised, 5u);
  const auto rows = parse(out.str());
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"t", "gx", "gy", "gz"}));
  for (int i = 0; i < 8; ++i) {
    const auto& r = rows[static_cast<std::size_t>(i) + 1];
    ASSERT_EQ(r.size(), 4u);
    if (i == 3 || i == 5 || i == 6) {
      EXPECT_EQ(r[3], "nan") << i;
    } else {
      EXPECT_NEAR(std::stod(r[1]), 0.0, 1e-9) << i;
      EXPECT_NEAR(std::stod(r[3]), 1.0, 1e-6) << i;
    }
  }
}

TEST(Quat2Gyro, MissingColumnsAreErrors) {
  std::istringstream in("t,qw,qx,qy\n0,1,0,0\n");
  std::ostringstream out;
  Quat2GyroReport rep;
  std::string err;
  EXPECT_FALSE(quat2gyro_stream(in, out, Quat2GyroOptions{}, rep, err));
  EXPECT_NE(err.find("qz"), std::string::npos);
  std::ostringstream msg;
  Quat2GyroOptions opt;
  opt.in_path = "/nonexistent/x.csv";
  opt.out_path = "-";
  EXPECT_EQ(run_quat2gyro(opt, msg), 1);
  EXPECT_NE(msg.str().find("cannot open"), std::string::npos);
}

TEST(Quat2Gyro, PhoneRecordingThroughFilesMatchesTheGyro) {
  const std::string in_path =
      std::string(PRIMUS_SHARED_DATA_DIR) + "/iphone-sensorlogger/merged_100hz.csv";
  const auto out_path = std::filesystem::temp_directory_path() / "primus_quat2gyro_test.csv";
  Quat2GyroOptions opt;
  opt.in_path = in_path;
  opt.out_path = out_path.string();
  opt.time_col = "seconds_elapsed";
  std::ostringstream msg;
  ASSERT_EQ(run_quat2gyro(opt, msg), 0) << msg.str();
  EXPECT_NE(msg.str().find("2064 rows, 0 bad"), std::string::npos) << msg.str();
  std::ifstream gin(in_path), oin(out_path);
  std::string gl, ol;
  std::getline(gin, gl);
  std::getline(oin, ol);
  double se = 0, sg = 0;
  int n = 0;
  while (std::getline(gin, gl) && std::getline(oin, ol)) {
    const auto g = parse(gl)[0];
    const auto o = parse(ol)[0];
    EXPECT_EQ(g[1], o[0]);
    for (int k = 0; k < 3; ++k) {
      const double e = std::stod(o[static_cast<std::size_t>(k) + 1]) -
                       std::stod(g[static_cast<std::size_t>(k) + 6]);
      se += e * e;
      sg += std::pow(std::stod(g[static_cast<std::size_t>(k) + 6]), 2);
    }
    ++n;
  }
  EXPECT_EQ(n, 2064);
  EXPECT_LT(std::sqrt(se / n), 0.0495);  // README centred: 0.049 rad/s
  std::filesystem::remove(out_path);
}

}  // namespace
}  // namespace primus::signal
