#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>

#include <Eigen/Geometry>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "adapters/sim_source.h"
#include "adapters/source.h"

namespace primus::adapters {
namespace {
namespace fs = std::filesystem;

TEST(SimDevice, DeterministicUnitQuaternionsAndGravity) {
  DeviceConfig d;
  d.id = "w";
  d.seed = 42;
  SimDevice a(d, 3), b(d, 3);
  std::set<std::string> labels;
  double acc_norm_sum = 0;
  std::int64_t prev_t = 0;
  std::uint32_t prev_seq = 0;
  const int n = 100 * 60;  // one minute at 100 Hz
  for (int i = 0; i < n; ++i) {
    const Sample s = a.next();
    const Sample t = b.next();
    ASSERT_EQ(s.quat, t.quat);  // same seed, same stream
    ASSERT_EQ(s.device, 3u);
    ASSERT_TRUE(s.has(kFieldAcc) && s.has(kFieldQuat) && s.has(kFieldSeq) && s.has(kFieldTDevice));
    ASSERT_FALSE(s.has(kFieldGyro));
    const double qn = std::sqrt(s.quat[0] * s.quat[0] + s.quat[1] * s.quat[1] +
                                s.quat[2] * s.quat[2] + s.quat[3] * s.quat[3]);
    ASSERT_NEAR(qn, 1.0, 1e-5);
    if (i > 0) {
      ASSERT_EQ(s.seq, prev_seq + 1);
      ASSERT_NEAR(static_cast<double>(s.t_device_us - prev_t), 10000.0, 2.0);  // 100 Hz, ~ppm drift
    }
    prev_t = s.t_device_us;
    prev_seq = s.seq;
    acc_norm_sum += std::sqrt(s.acc[0] * s.acc[0] + s.acc[1] * s.acc[1] + s.acc[2] * s.acc[2]);
    labels.insert(a.current_label());
  }
  // Gravity dominates the mean specific force; every gesture shows up within a minute.
  EXPECT_NEAR(acc_norm_sum / n, 9.8, 1.5);
  EXPECT_EQ(labels, (std::set<std::string>{"null", "wave", "circle", "shake", "tap"}));
}

// Segment lengths (label runs) in seconds, per label, over `seconds` of a device at 100 Hz.
std::map<std::string, std::vector<double>> segment_lengths(SimDevice& sim, double seconds) {
  std::map<std::string, std::vector<double>> out;
  std::string cur;
  int run = 0;
  for (int i = 0; i < static_cast<int>(seconds * 100); ++i) {
    sim.next();
    if (sim.current_label() != cur) {
      if (!cur.empty()) out[cur].push_back(run / 100.0);
      cur = sim.current_label();
      run = 0;
    }
    ++run;
  }
  return out;
}

TEST(SimDevice, ActivitiesLastTheirLengthAndSingleGesturesTheirOwn) {
  DeviceConfig d;
  d.id = "a";
  d.seed = 5;
  SimDevice single(d, 0), act(d, 0, SimTiming{10.0});
  const auto one = segment_lengths(single, 300), many = segment_lengths(act, 600);
  for (const auto& [label, lens] : one)
    for (double s : lens) {
      if (label == "null") {
        EXPECT_GE(s, 1.49);
        EXPECT_LE(s, 3.51);
      } else {
        EXPECT_GE(s, 0.99) << label;  // tap 1.0 s ... circle 2.0 s
        EXPECT_LE(s, 2.01) << label;
      }
    }
  ASSERT_EQ(many.size(), 5u);  // null and the four gestures
  for (const auto& [label, lens] : many)
    for (double s : lens) {
      if (label == "null") {
        EXPECT_GE(s, 1.99);
        EXPECT_LE(s, 5.01);
      } else {
        EXPECT_GE(s, 7.49) << label;
        EXPECT_LE(s, 12.51) << label;
      }
    }
  // The motion goes on through an activity: the middle of a 10 s wave still rolls the forearm.
  SimDevice w(d, 0, SimTiming{10.0});
  double lo = 1e9, hi = -1e9;
  int n = 0;
  std::string prev;
  for (int i = 0; i < 600 * 100; ++i) {
    const Sample s = w.next();
    if (w.current_label() == "wave") ++n;
    if (w.current_label() == "wave" && n > 400 && n < 600) {
      lo = std::min(lo, double{s.acc[1]});
      hi = std::max(hi, double{s.acc[1]});
    }
    if (prev == "wave" && w.current_label() != "wave") break;
    prev = w.current_label();
  }
  EXPECT_GT(hi - lo, 1.0);  // the roll swings the lateral specific force 4-6 s in (idle: ~0.3)
}

TEST(SimDevice, HonoursUnitsAndQuaternionOrder) {
  DeviceConfig d;
  d.id = "p";
  d.seed = 7;
  DeviceConfig g = d;
  g.acc_unit = AccUnit::kG;
  g.quat_order = QuatOrder::kXyzw;
  SimDevice a(d, 0), b(g, 0);
  for (int i = 0; i < 500; ++i) {
    const Sample x = a.next(), y = b.next();
    ASSERT_NEAR(x.acc[2] / 9.80665, y.acc[2], 1e-5);
    ASSERT_FLOAT_EQ(x.quat[0], y.quat[3]);  // w moves last
    ASSERT_FLOAT_EQ(x.quat[1], y.quat[0]);
  }
}

TEST(ReplaySource, DeliversEveryRowInOrderAndEnds) {
  const fs::path dir = fs::temp_directory_path() / ("primus_replay_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "r.csv");
    out << "t;acc_x;acc_y;acc_z;qw;qx;qy;qz\n";
    for (int i = 0; i < 300; ++i) out << i * 0.01 << ";0;0;9.8;1;0;0;0\n";
    out << "3.0;bad;0;9.8;1;0;0;0\n";
  }
  DeviceConfig d;
  d.id = "r";
  d.adapter = AdapterKind::kReplay;
  d.path = (dir / "r.csv").string();
  d.speed = 0;  // as fast as possible
  boost::asio::io_context io;
  std::vector<Sample> got;
  std::vector<SourceState> states;
  auto src = make_source(
      d, 1,
      SourceContext{io, SteadyTimeSource::instance(), [&](const Sample& s) { got.push_back(s); },
                    [&](SourceState s, const std::string&) { states.push_back(s); }});
  src->start();
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 300u);
  EXPECT_EQ(src->stats().decode_errors, 1u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].seq, i);
    EXPECT_EQ(got[i].t_device_us, static_cast<std::int64_t>(i) * 10000);
    EXPECT_TRUE(got[i].has(kFieldQuat));
    EXPECT_FALSE(got[i].has(kFieldGyro));
  }
  // Host times follow the recording at 1x even when replayed faster.
  EXPECT_EQ(got[299].t_host_ns - got[0].t_host_ns, 2'990'000'000);
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0], SourceState::kConnected);
  EXPECT_EQ(states[1], SourceState::kEnded);
  fs::remove_all(dir);
}

TEST(ReplaySource, MissingColumnIsNamed) {
  const fs::path f =
      fs::temp_directory_path() / ("primus_replay_bad_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(f) << "t,ax,ay,az\n0,1,2,3\n";
  DeviceConfig d;
  d.id = "r";
  d.adapter = AdapterKind::kReplay;
  d.path = f.string();
  d.gyro_columns = {"gx", "gy", "gz"};
  boost::asio::io_context io;
  try {
    make_source(d, 0,
                SourceContext{io, SteadyTimeSource::instance(), [](const Sample&) {},
                              [](SourceState, const std::string&) {}});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("gyro_columns names column \"gx\""), std::string::npos)
        << e.what();
  }
  fs::remove(f);
}

}  // namespace
}  // namespace primus::adapters
