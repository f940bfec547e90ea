// End to end over a serial port: the real primusd reads native frames from a pseudo-terminal.
// The frames are produced by the Python reference encoder (clients/python/primus_frame.py) from
// a real phone recording (../shared/data/iphone-sensorlogger), and written at the recording's
// pace. The same daemon also replays the same recording as a second device; the windows the
// serial device forms (per-window score messages: window_seq, device-time stamps, scores)
// must match the replay device's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
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

extern char** environ;

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "primus_serial_e2e_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs argv with stdout (and stderr) to `out`; returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& out,
            const std::vector<std::string>& env = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("NOTIFY_SOCKET=", 0) != 0) envs.emplace_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::this_thread::sleep_for(20ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -2;
}

/// Waits for a datagram on our NOTIFY_SOCKET containing `what`.
bool wait_notify(int fd, const std::string& what, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    char buf[4096];
    const auto n = recv(fd, buf, sizeof buf, 0);
    if (n > 0 && std::string(buf, static_cast<std::size_t>(n)).find(what) != std::string::npos)
      return true;
  }
  return false;
}

struct Window {
  std::int64_t start_us = 0, end_us = 0;
  std::vector<double> scores;
};

TEST(SerialE2e, WindowsFromTheSerialDeviceMatchTheReplayOfTheSameRecording) {
  const fs::path rec =
      fs::path(PRIMUS_SOURCE_DIR) / "../shared/data/iphone-sensorlogger/merged_100hz.csv";
  if (!fs::exists(rec)) GTEST_SKIP() << "recording not available: " << rec;
  TempDir dir;

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
  const pid_t py =
      spawn({"/bin/sh", "-c",
             "exec /usr/bin/python3 '" + std::string(PRIMUS_SOURCE_DIR) +
                 "/clients/python/primus_frame.py' from-csv '" + csv.string() +
                 "' --acc acc_x,acc_y,acc_z --gyro gyr_x,gyr_y,gyr_z --device-id 4 > '" +
                 frames_file.string() + "'"},
            dir.path / "encoder.log");
  ASSERT_EQ(wait_exit(py, 120s), 0) << slurp(dir.path / "encoder.log");
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
  const int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", notify_path.c_str());
  ASSERT_EQ(bind(nfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{0, 200000};
  setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "score.");
  sub.set(zmq::sockopt::subscribe, "device.");
  sub.set(zmq::sockopt::rcvtimeo, 100);
  sub.connect(endpoint);

  const fs::path log = dir.path / "primusd.log";
  const pid_t d = spawn({PRIMUSD_PATH, "--config", config.string()}, log,
                        {"NOTIFY_SOCKET=" + notify_path.string()});
  ASSERT_GT(d, 0);
  ASSERT_TRUE(wait_notify(nfd, "READY=1", 120s)) << slurp(log);

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
    // Keep reading the notify socket: a full socket would block the daemon's sd_notify.
    for (char buf[4096]; recv(nfd, buf, sizeof buf, MSG_DONTWAIT) > 0;) {
    }
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
  ASSERT_EQ(kill(d, SIGTERM), 0);
  EXPECT_EQ(wait_exit(d, 30s), 0) << slurp(log);
  ::close(master);
  ::close(nfd);

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
