// Quaternion -> angular velocity on real recordings (../shared/data), compared row by row with the
// recorded gyro, against the figures of the data README (best plain conversion per file and rate).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "src/signal/device_pipeline.h"
#include "src/signal/quat_rate.h"

namespace primus::signal {
namespace {

struct Recording {
  std::vector<double> t;
  std::vector<std::array<double, 4>> q;  // w, x, y, z
  std::vector<std::array<double, 3>> gyro;
};

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream ss(line);
  while (std::getline(ss, cell, sep)) out.push_back(cell);
  return out;
}

// repoIMU.csv: ';', two header rows; Time;W;X;Y;Z;accX..Z;gyrX..Z;mag..
Recording load_repoimu() {
  Recording r;
  std::ifstream in(std::string(PRIMUS_SHARED_DATA_DIR) + "/repoimu/repoIMU.csv");
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto f = split(line, ';');
    if (f.size() < 11) continue;
    r.t.push_back(std::stod(f[0]));
    r.q.push_back({std::stod(f[1]), std::stod(f[2]), std::stod(f[3]), std::stod(f[4])});
    r.gyro.push_back({std::stod(f[8]), std::stod(f[9]), std::stod(f[10])});
  }
  return r;
}

// merged_100hz.csv: time_ns,seconds_elapsed,qw,qx,qy,qz,gyr_x,gyr_y,gyr_z,...
Recording load_iphone() {
  Recording r;
  std::ifstream in(std::string(PRIMUS_SHARED_DATA_DIR) + "/iphone-sensorlogger/merged_100hz.csv");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    if (f.size() < 9) continue;
    r.t.push_back(std::stod(f[1]));
    r.q.push_back({std::stod(f[2]), std::stod(f[3]), std::stod(f[4]), std::stod(f[5])});
    r.gyro.push_back({std::stod(f[6]), std::stod(f[7]), std::stod(f[8])});
  }
  return r;
}

Recording every(const Recording& in, std::size_t step) {
  Recording r;
  for (std::size_t i = 0; i < in.t.size(); i += step) {
    r.t.push_back(in.t[i]);
    r.q.push_back(in.q[i]);
    r.gyro.push_back(in.gyro[i]);
  }
  return r;
}

struct Score {
  double r = 0.0;    // Pearson correlation, all axes pooled
  double rms = 0.0;  // RMS of the 3-axis error vector
};

Score score(const Recording& rec, QuatRateMethod m) {
  QuatRate qr(m);
  std::vector<std::array<double, 3>> est(rec.t.size());
  auto take = [&](const QuatRateOut& o) { est[o.index] = {o.w.x(), o.w.y(), o.w.z()}; };
  for (std::size_t i = 0; i < rec.t.size(); ++i) {
    QuatRateOut o;
    bool has = false;
    EXPECT_EQ(qr.push(rec.t[i], rec.q[i], o, has), QuatPush::kOk);
    if (has) take(o);
  }
  QuatRateOut o;
  if (qr.flush(o)) take(o);
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, se = 0;
  double n = 0;
  for (std::size_t i = 0; i < est.size(); ++i) {
    double e2 = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      const double a = est[i][k], b = rec.gyro[i][k];
      sa += a;
      sb += b;
      saa += a * a;
      sbb += b * b;
      sab += a * b;
      n += 1;
      e2 += (a - b) * (a - b);
    }
    se += e2;
  }
  Score s;
  const double cov = sab / n - (sa / n) * (sb / n);
  s.r = cov / std::sqrt((saa / n - (sa / n) * (sa / n)) * (sbb / n - (sb / n) * (sb / n)));
  s.rms = std::sqrt(se / static_cast<double>(est.size()));
  return s;
}

void report(const char* name, const Recording& rec) {
  const char* names[] = {"centred", "centred-chord", "forward", "backward"};
  int k = 0;
  for (auto m : {QuatRateMethod::kCentred, QuatRateMethod::kCentredChord, QuatRateMethod::kForward,
                 QuatRateMethod::kBackward}) {
    const Score s = score(rec, m);
    std::printf("  %-22s %-14s r = %.5f  RMS = %.4f rad/s\n", name, names[k++], s.r, s.rms);
  }
}

// README table, best column per file and rate: r and RMS as printed, with the half unit of the
// last printed digit (the README rounds, so "matches" means agrees to the printed precision).
struct Expect {
  double r;
  double r_half_unit;
  double rms;
  double rms_half_unit;
};

void expect_matches(const Score& s, const Expect& e, const char* what) {
  EXPECT_GE(s.r, e.r - e.r_half_unit) << what;
  EXPECT_LE(s.rms, e.rms + e.rms_half_unit) << what;
}

TEST(RealData, RepoImuMatchesTheBestPlainConversionAt100And50Hz) {
  const Recording full = load_repoimu();
  ASSERT_EQ(full.t.size(), 8993u);
  const Recording half = every(full, 2);
  report("repoimu 100 Hz", full);
  report("repoimu 50 Hz", half);
  const Score s100 = score(full, QuatRateMethod::kCentred);
  const Score s50 = score(half, QuatRateMethod::kCentred);
  expect_matches(s100, {0.981, 5e-4, 0.077, 5e-4}, "repoimu 100 Hz");
  expect_matches(s50, {0.981, 5e-4, 0.077, 5e-4}, "repoimu 50 Hz");
}

TEST(RealData, IphoneMatchesTheBestPlainConversionAt100And50HzAndBeatsNaiveForward) {
  const Recording full = load_iphone();
  ASSERT_EQ(full.t.size(), 2064u);
  const Recording half = every(full, 2);
  report("iphone 100 Hz", full);
  report("iphone 50 Hz", half);
  const Score s100 = score(full, QuatRateMethod::kCentred);
  const Score s50 = score(half, QuatRateMethod::kCentred);
  expect_matches(s100, {0.9996, 5e-5, 0.049, 5e-4}, "iphone 100 Hz");
  expect_matches(s50, {0.997, 5e-4, 0.130, 5e-4}, "iphone 50 Hz");
  // the naive forward difference with real time steps is clearly worse on the phone
  const Score f50 = score(half, QuatRateMethod::kForward);
  EXPECT_LT(s50.rms * 2.0, f50.rms);
}

// The whole pipeline on the phone recording, 100 Hz in, 50 Hz windows out: gyro channels derived
// from quaternions must match those of the measured gyro pushed through the same path (same
// resampler, same times), so the one-sample delay of the centred estimate is aligned right.
TEST(RealData, PipelineFromQuaternionsMatchesPipelineFromGyroOnThePhone) {
  std::ifstream in(std::string(PRIMUS_SHARED_DATA_DIR) + "/iphone-sensorlogger/merged_100hz.csv");
  std::string line;
  std::getline(in, line);
  std::vector<Sample> samples;
  std::uint32_t seq = 0;
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    Sample s;
    s.fields = kFieldAcc | kFieldGyro | kFieldQuat | kFieldSeq | kFieldTDevice;
    s.seq = seq++;
    s.t_device_us = std::llround(std::stod(f[1]) * 1e6);
    s.t_host_ns = 1'000'000'000'000 + s.t_device_us * 1000 + 5'000'000 + (seq % 5) * 1'000'000;
    s.quat = {std::stof(f[2]), std::stof(f[3]), std::stof(f[4]), std::stof(f[5])};
    s.gyro = {std::stof(f[6]), std::stof(f[7]), std::stof(f[8])};
    for (std::size_t k = 0; k < 3; ++k) s.acc[k] = -(std::stof(f[9 + k]) + std::stof(f[12 + k]));
    samples.push_back(s);
  }
  WindowConfig win;
  win.length = 250;
  win.hop = 250;  // disjoint windows
  auto run = [&](GyroSource src) {
    DeviceConfig dev;
    dev.rate_hz = 100.0;
    dev.gyro_source = src;
    DevicePipeline p(dev, win, 0);
    std::vector<Window> out;
    for (const Sample& s : samples) p.push(s, [&](Window&& w) { out.push_back(std::move(w)); });
    EXPECT_EQ(p.counters().bad_quat, 0u);
    EXPECT_EQ(p.counters().gaps_reset, 0u);
    return out;
  };
  const auto meas = run(GyroSource::kMeasured);
  const auto quat = run(GyroSource::kFromQuaternion);
  ASSERT_EQ(meas.size(), quat.size());
  ASSERT_GE(meas.size(), 3u);  // ~20.6 s at 50 Hz = 4 windows of 5 s
  double se = 0, sg = 0, n = 0;
  for (std::size_t k = 0; k < meas.size(); ++k) {
    ASSERT_EQ(meas[k].t_start_host_ns, quat[k].t_start_host_ns);
    for (int c = 0; c < 3; ++c) {
      EXPECT_FLOAT_EQ(meas[k].at(c, 100), quat[k].at(c, 100));  // acc identical
    }
    for (int c = 3; c < 6; ++c) {
      for (int i = 0; i < meas[k].length; ++i) {
        const double e = quat[k].at(c, i) - meas[k].at(c, i);
        se += e * e;
        sg += static_cast<double>(meas[k].at(c, i)) * meas[k].at(c, i);
        n += 1;
      }
    }
  }
  const double rms3 = std::sqrt(3.0 * se / n);  // RMS of the 3-axis error vector
  std::printf("  pipeline 100 -> 50 Hz, quaternion vs gyro path: RMS %.4f rad/s (gyro RMS %.2f)\n",
              rms3, std::sqrt(3.0 * sg / n));
  EXPECT_LT(rms3, 0.05);
}

}  // namespace
}  // namespace primus::signal
