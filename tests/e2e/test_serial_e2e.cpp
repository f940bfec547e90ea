// End to end over a serial port: the real primusd reads native frames from a pseudo-terminal.
// The frames are produced by the Python reference encoder (clients/python/primus_frame.py) from
// a real phone recording (../shared/data/iphone-sensorlogger), and written at the recording's
// pace. The same daemon also replays the same recording as a second device; the windows the
// serial device forms (per-window score messages: window_seq, device-time stamps, scores)
// must match the replay device's.
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "tests/e2e/e2e_support.h"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using primus::e2e::Child;
using primus::e2e::NotifySocket;
using primus::e2e::slurp;
using primus::e2e::TempDir;

struct Window {
  std::int64_t start_us = 0, end_us = 0;
  std::vector<double> scores;
};

TEST(SerialE2e, WindowsFromTheSerialDeviceMatchTheReplayOfTheSameRecording) {
  const fs::path rec =
      fs::path(PRIMUS_SOURCE_DIR) / "../shared/data/iphone-sensorlogger/merged_100hz.csv";
  if (!fs::exists(rec)) GTEST_SKIP() << "recording not available: " << rec;
  TempDir dir("primus_serial_e2e");

  // The IMU view of the phone recording: specific force = -(user acceleration + gravity).
  const fs::path csv = dir.path / "phone.csv";
  std::vector<double> t_s;  // each row's device time: the writer keeps the recording's own pace
  {
    std::ifstream in(rec);
    std::ofstream out(csv);
    std::string line;
    std::getline(in, line);
    out << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n";
    out.precision(9);
    while (std::getline(in, line)) {
      std::vector<double> v;
      std::stringstream ss(line);
      std::string cell;
      while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
      ASSERT_EQ(v.size(), 15u);
      t_s.push_back(v[1]);
      out << v[1] << "," << -(v[9] + v[12]) << "," << -(v[10] + v[13]) << "," << -(v[11] + v[14])
          << "," << v[6] << "," << v[7] << "," << v[8] << "\n";
    }
  }
  // Frames from the Python reference encoder.
  const fs::path frames_file = dir.path / "frames.bin";
  Child py({"/bin/sh", "-c",
            "exec /usr/bin/python3 '" + std::string(PRIMUS_SOURCE_DIR) +
                "/clients/python/primus_frame.py' from-csv '" + csv.string() +
                "' --acc acc_x,acc_y,acc_z --gyro gyr_x,gyr_y,gyr_z --device-id 4 > '" +
                frames_file.string() + "'"},
           {}, dir.path / "encoder.log");
  ASSERT_EQ(py.wait(120s), 0) << slurp(dir.path / "encoder.log");
  const std::string bytes = slurp(frames_file);
  std::vector<std::string> frames;  // one wire frame each (the file starts with one 0x00)
  for (std::size_t i = 1, start = 1; i < bytes.size(); ++i) {
    if (bytes[i] == '\0') {
      frames.push_back(bytes.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  ASSERT_GT(frames.size(), 2000u);
  ASSERT_EQ(frames.size(), t_s.size());

  // The serial device: a pty behind a by-id style link.
  termios raw{};
  cfmakeraw(&raw);
  int master = -1, slave = -1;
  char name[128];
  ASSERT_EQ(openpty(&master, &slave, name, &raw, nullptr), 0);
  ::close(slave);
  const fs::path port = dir.path / "usb-primus-wrist-if00";
  fs::create_symlink(name, port);

  const std::string endpoint = "ipc://" + (dir.path / "events.sock").string();
  const fs::path config = dir.path / "primusd.toml";
  std::ofstream(config)
      << "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" << dir.path.string()
      << "\"\nstate_dir = \"" << dir.path.string() << "\"\n"
      << "[model]\nthreads = 1\ndevice = \"cpu\"\n"
      << "[window]\nlength = 123\nhop = 10\n"
      << "[batcher]\nmax_batch = 4\nmax_delay_us = 2000\n"
      << "[events]\npublish_scores = true\n"
      << "[bus]\npublish = [\"" << endpoint << "\"]\n"
      << "[[devices]]\nid = \"replayed\"\nadapter = \"replay\"\npath = \"phone.csv\"\n"
      << "[[devices]]\nid = \"wrist\"\nadapter = \"serial\"\npath = \"" << port.string()
      << "\"\nbaud = 921600\ndevice_id = 4\nidle_timeout_s = 0\n";

  const fs::path notify_path = dir.path / "notify.sock";
  NotifySocket notify(notify_path);

  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "score.");
  sub.set(zmq::sockopt::subscribe, "device.");
  sub.set(zmq::sockopt::rcvtimeo, 100);
  sub.connect(endpoint);

  const fs::path log = dir.path / "primusd.log";
  Child d({PRIMUSD_PATH, "--config", config.string()}, {"NOTIFY_SOCKET=" + notify_path.string()},
          log);
  ASSERT_GT(d.pid(), 0);
  ASSERT_TRUE(notify.wait_for("READY=1", 120s)) << slurp(log);

  // Feed the pty at the recording's pace from a thread; collect messages here.
  std::thread writer([&] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string sync(1, '\0');
    (void)!::write(master, sync.data(), 1);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      std::this_thread::sleep_until(
          t0 + std::chrono::microseconds(std::llround((t_s[i] - t_s[0]) * 1e6)));
      std::size_t off = 0;
      while (off < frames[i].size()) {
        const auto n = ::write(master, frames[i].data() + off, frames[i].size() - off);
        if (n > 0)
          off += static_cast<std::size_t>(n);
        else
          std::this_thread::sleep_for(1ms);
      }
    }
  });
  std::map<std::string, std::map<std::uint64_t, Window>> windows;
  bool replay_ended = false;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  std::chrono::steady_clock::time_point quiet_since{};
  while (std::chrono::steady_clock::now() < deadline) {
    notify.drain();  // status updates keep coming; a full socket would drop them
    zmq::message_t topic, body;
    if (!sub.recv(topic)) {
      // Done when the replay has ended, the writer is through and no window came for 3 s.
      if (replay_ended && quiet_since != std::chrono::steady_clock::time_point{} &&
          std::chrono::steady_clock::now() - quiet_since > 3s && !writer.joinable())
        break;
      if (writer.joinable() && replay_ended) {
        writer.join();
        quiet_since = std::chrono::steady_clock::now();
      }
      continue;
    }
    ASSERT_TRUE(sub.recv(body));
    const auto j = nlohmann::json::parse(body.to_string());
    const std::string dev = j.at("device");
    if (j.at("type") == "device") {
      if (dev == "replayed" && j.at("state") == "ended") replay_ended = true;
      continue;
    }
    Window w;
    w.start_us = j.at("start").at("t_device_us");
    w.end_us = j.at("end").at("t_device_us");
    for (const auto& [label, p] : j.at("scores").items()) w.scores.push_back(p.get<double>());
    windows[dev][j.at("window_seq").get<std::uint64_t>()] = w;
    quiet_since = std::chrono::steady_clock::now();
  }
  if (writer.joinable()) writer.join();
  ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
  EXPECT_EQ(d.wait(30s), 0) << slurp(log);
  ::close(master);

  const auto& r = windows["replayed"];
  const auto& s = windows["wrist"];
  ASSERT_GT(r.size(), 80u) << slurp(log);
  // Every window of the recording, both ways (the serial device may be one hop short at the end
  // if its last frames were still in flight when the replay ended).
  EXPECT_LE(s.size(), r.size());
  EXPECT_GE(s.size() + 1, r.size()) << slurp(log);
  // The serial device's host times are real arrivals, so its clock map may settle on an offset a
  // transit delay away from the replay's; it must be one constant for the whole run.
  double min_off = 1e18, max_off = -1e18, max_dscore = 0;
  for (const auto& [seq, ws] : s) {
    ASSERT_TRUE(r.count(seq)) << "window " << seq << " only on the serial device";
    const auto& wr = r.at(seq);
    for (const double off : {static_cast<double>(ws.start_us - wr.start_us),
                             static_cast<double>(ws.end_us - wr.end_us)}) {
      min_off = std::min(min_off, off);
      max_off = std::max(max_off, off);
    }
    if (std::getenv("PRIMUS_E2E_VERBOSE"))
      std::cout << seq << " start " << ws.start_us - wr.start_us << " end " << ws.end_us - wr.end_us
                << " len " << (ws.end_us - ws.start_us) << " vs " << (wr.end_us - wr.start_us)
                << "\n";
    ASSERT_EQ(ws.scores.size(), wr.scores.size());
    for (std::size_t k = 0; k < ws.scores.size(); ++k)
      max_dscore = std::max(max_dscore, std::fabs(ws.scores[k] - wr.scores[k]));
  }
  std::cout << "[ serial e2e ] " << s.size() << " serial windows vs " << r.size()
            << " replayed; window stamps differ by " << min_off << " .. " << max_off
            << " us, scores by at most " << max_dscore << "\n";
  // Same windows: the same device-time spans up to the serial link's transit delay, which the
  // clock map folds into its offset and which varies with the machine's load (a few ms on an
  // idle machine): steady within one model sample, and the same data (scores).
  EXPECT_LT(max_off - min_off, 20000.0);
  EXPECT_LT(std::max(std::fabs(min_off), std::fabs(max_off)), 250000.0);
  EXPECT_LT(max_dscore, 0.02);
  const std::string text = slurp(log);
  EXPECT_NE(text.find("device wrist: connected"), std::string::npos) << text;
}

}  // namespace
