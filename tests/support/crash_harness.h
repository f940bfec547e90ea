#pragma once
// The kill -9 harness shared by the crash tests (tests/capture, tests/training): a writer process
// whose stdout is a pipe the test reads while it waits for the moment to kill, a temporary
// directory, and a seed that is printed and can be replayed (PRIMUS_CRASH_SEED=N).
//
// A writer prints one line per acknowledged write ("ack ..."), each with one write(2) right after
// the write returned; the test kills it with SIGKILL at random moments and then checks that every
// acknowledged write survived. Header-only: the capture crash test links no LibTorch.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace primus::crash_test {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "primus-crash") {
    const char* base = std::getenv("TMPDIR");
    std::string t = std::string(base != nullptr ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp " + t);
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// PRIMUS_CRASH_SEED, or a random seed; printed so that a failing sequence can be repeated.
inline std::uint64_t crash_seed() {
  std::uint64_t seed = 0;
  if (const char* s = std::getenv("PRIMUS_CRASH_SEED"))
    seed = std::stoull(s);
  else
    seed = std::random_device{}();
  std::cout << "[ seed     ] PRIMUS_CRASH_SEED=" << seed << "\n";
  return seed;
}

/// Number of complete lines of `s` that start with `word` (a line cut by the kill is not one).
inline std::size_t count_lines_starting(const std::string& s, const std::string& word) {
  std::size_t n = 0;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
    if (s.compare(start, word.size(), word) == 0) ++n;
  return n;
}

/// A writer process with its stdout on a pipe. Killed with SIGKILL at destruction if still
/// running. Not thread-safe.
class CrashChild {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CrashChild(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error(argv[0] + ": posix_spawn: " + std::strerror(rc));
    }
    fd_ = fds[0];
  }
  ~CrashChild() {
    if (pid_ > 0 && !reaped_) (void)kill9();
    if (fd_ >= 0) ::close(fd_);
  }
  CrashChild(const CrashChild&) = delete;
  CrashChild& operator=(const CrashChild&) = delete;

  /// Reads what is available, waiting up to timeout_ms for something; false once at EOF.
  bool read_some(int timeout_ms) {
    if (eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n <= 0) return true;  // timeout: nothing yet, not EOF
    char tmp[4096];
    const ssize_t r = ::read(fd_, tmp, sizeof tmp);
    if (r <= 0) {
      eof_ = true;
      return false;
    }
    out_.append(tmp, static_cast<std::size_t>(r));
    return true;
  }
  /// Reads until `done(out())`, EOF or `give_up` (a hang guard, not a timing check).
  void read_until(const std::function<bool(const std::string&)>& done, Clock::duration give_up) {
    const auto end = Clock::now() + give_up;
    while (!eof_ && !done(out_) && Clock::now() < end) read_some(100);
  }
  /// Keeps reading (so the writer never blocks on a full pipe) until `at`.
  void read_until_time(Clock::time_point at) {
    while (!eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now());
      if (left.count() <= 0) break;
      read_some(static_cast<int>(left.count()));
    }
  }
  /// SIGKILL, reap, read what is left. Expects (gtest) death by our signal, not an exit of its
  /// own. Returns the wait status.
  int kill9() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    while (read_some(1000)) {
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer exited by itself, status " << status;
    return status;
  }

  [[nodiscard]] const std::string& out() const { return out_; }
  [[nodiscard]] bool eof() const { return eof_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::string out_;
};

}  // namespace primus::crash_test
