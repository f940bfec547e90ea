// kill -9 at random moments during capture writes, then check that the database opens, passes
// PRAGMA integrity_check (and the store's own checks) and holds every acknowledged capture, bit
// for bit. The writer is a separate process (capture_crash_writer) so that SIGKILL hits it in
// the middle of whatever it is doing: opening or creating the schema, inserting, committing,
// checkpointing, evicting.
//
// Each run kills the writer either on a random timer after its start (catches startup, WAL
// recovery and schema creation) or a random few hundred microseconds after a random number of
// acknowledgements (catches commits in flight). The seed is printed; PRIMUS_CRASH_SEED=N
// repeats a sequence.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "src/capture/capture_store.h"
#include "tests/capture/crash_data.h"

extern char** environ;

namespace primus::capture {
namespace {

struct Ack {
  std::int64_t id = 0;
  std::uint64_t k = 0;
};

struct Totals {
  int kills = 0;
  std::size_t acks = 0;
  std::size_t checked = 0;
  std::int64_t evicted = 0;  ///< captures gone by retention in the last file checked
};

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string t = std::string(base != nullptr ? base : "/tmp") + "/primus-crash-XXXXXX";
    if (mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::uint64_t seed_from_env() {
  if (const char* s = std::getenv("PRIMUS_CRASH_SEED")) return std::stoull(s);
  return std::random_device{}();
}

/// Reads what is available (or waits up to timeout_ms for something); false on EOF.
bool read_some(int fd, std::string& buf, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, timeout_ms);
  if (n <= 0) return n == 0;  // timeout: nothing yet, not EOF
  char tmp[4096];
  const ssize_t r = ::read(fd, tmp, sizeof tmp);
  if (r <= 0) return false;
  buf.append(tmp, static_cast<std::size_t>(r));
  return true;
}

std::vector<Ack> parse_acks(const std::string& out) {
  std::vector<Ack> acks;
  std::size_t start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::istringstream line(out.substr(start, nl - start));
    std::string word;
    Ack a;
    if (line >> word >> a.id >> a.k && word == "ack") acks.push_back(a);
  }
  return acks;  // a line cut by the kill has no newline and is ignored (that ack is unchecked)
}

std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

enum class KillMode { kTimer, kAfterAcks };

/// Starts the writer, kills it with SIGKILL, returns the acknowledgements it printed.
std::vector<Ack> run_and_kill(const std::filesystem::path& db, std::uint64_t first_k,
                              std::int64_t max_bytes, KillMode mode, std::mt19937_64& rng) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  const std::string k = std::to_string(first_k);
  const std::string mb = std::to_string(max_bytes);
  std::vector<char*> argv{const_cast<char*>(PRIMUS_CAPTURE_CRASH_WRITER),
                          const_cast<char*>(db.c_str()), const_cast<char*>(k.c_str()),
                          const_cast<char*>(mb.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  }

  std::string out;
  bool eof = false;
  if (mode == KillMode::kTimer) {
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30'000)(rng)));
  } else {
    const std::size_t want = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
    // Hang guard only (a writer that prints nothing for 30 s is broken); not a timing check.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!eof && count_lines(out) < want && std::chrono::steady_clock::now() < give_up) {
      eof = !read_some(fds[0], out, 100);
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 2'000)(rng)));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while (read_some(fds[0], out, 1000)) {
  }
  ::close(fds[0]);
  // It must have died by our signal, not by exiting on an error of its own.
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "writer exited by itself, status " << status;
  if (mode == KillMode::kAfterAcks) {
    EXPECT_FALSE(eof) << "writer closed stdout early";
  }
  return parse_acks(out);
}

/// The store's and SQLite's checks pass; every ack is present and equal to its record.
void check_store(const std::filesystem::path& db, const std::vector<Ack>& acks,
                 std::int64_t max_bytes, Totals& t) {
  CaptureStore store(db);  // what the daemon does on restart: open (recovering the WAL)
  const IntegrityReport rep = store.integrity_check();
  ASSERT_TRUE(rep.ok) << rep.problems.front();
  std::int64_t min_present = 0;
  if (max_bytes > 0) {
    const StoreStats st = store.stats();
    EXPECT_LE(st.bytes, max_bytes);
    t.evicted = st.max_id - st.captures;
    CaptureFilter first;
    first.limit = 1;
    const auto oldest = store.list(first);
    min_present = oldest.empty() ? std::numeric_limits<std::int64_t>::max() : oldest[0].id;
  }
  for (const Ack& a : acks) {
    if (a.id < min_present) continue;  // evicted oldest-first by retention: allowed
    const auto got = store.get(a.id);
    ASSERT_TRUE(got.has_value()) << "acknowledged capture " << a.id << " (k " << a.k
                                 << ") is missing";
    const CaptureRecord want = crash::make_crash_record(a.k);
    EXPECT_EQ(got->label, want.label);
    EXPECT_EQ(got->device, want.device);
    EXPECT_EQ(got->t_start_host_ns, want.t_start_host_ns);
    EXPECT_EQ(got->conversion, want.conversion);
    ASSERT_EQ(got->data.size(), want.data.size()) << a.id;
    EXPECT_EQ(std::memcmp(got->data.data(), want.data.data(), want.data.size() * 4), 0) << a.id;
    ++t.checked;
  }
}

void crash_loop(int runs, int runs_per_db, std::int64_t max_bytes, Totals& t) {
  const std::uint64_t seed = seed_from_env();
  std::cout << "[ seed     ] PRIMUS_CRASH_SEED=" << seed << "\n";
  std::mt19937_64 rng(seed);
  TempDir dir;
  std::vector<Ack> all;
  std::filesystem::path db;
  std::uint64_t next_k = 0;
  for (int run = 0; run < runs; ++run) {
    const bool fresh = run % runs_per_db == 0;
    if (fresh) {
      db = dir.path() / ("crash" + std::to_string(run) + ".db");
      all.clear();
    }
    // The first run on a fresh file is killed on a short timer, often during schema creation.
    const KillMode mode =
        fresh || std::bernoulli_distribution(0.25)(rng) ? KillMode::kTimer : KillMode::kAfterAcks;
    const std::vector<Ack> acks = run_and_kill(db, next_k, max_bytes, mode, rng);
    next_k += 1'000'000;  // k ranges never overlap between runs
    ++t.kills;
    t.acks += acks.size();
    all.insert(all.end(), acks.begin(), acks.end());
    // Every ack so far on this file, not only this run's: recovery must not lose older ones.
    check_store(db, all, max_bytes, t);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(CaptureCrash, EveryAcknowledgedCaptureSurvivesKill9) {
  Totals t;
  crash_loop(60, 15, 0, t);
  std::cout << "[ crash    ] " << t.kills << " kills, " << t.acks << " acknowledged captures, "
            << t.checked << " ack checks (cumulative per file)\n";
  EXPECT_GE(t.kills, 60);
  EXPECT_GT(t.acks, 0u);  // the kill-after-acks runs guarantee some
}

TEST(CaptureCrash, RetentionUnderKill9OnlyEvictsOldestFirst) {
  Totals t;
  constexpr std::int64_t kMaxBytes = 30 * 6000;  // about 40 of the writer's captures
  crash_loop(20, 20, kMaxBytes, t);
  std::cout << "[ crash    ] retention: " << t.kills << " kills, " << t.acks
            << " acknowledged captures, " << t.checked << " ack checks, " << t.evicted
            << " evicted\n";
  EXPECT_GE(t.kills, 20);
  EXPECT_GT(t.acks, 0u);
  EXPECT_GT(t.evicted, 0);  // retention really ran while being killed
}

}  // namespace
}  // namespace primus::capture
