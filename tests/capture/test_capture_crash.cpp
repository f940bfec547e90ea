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
#include <gtest/gtest.h>

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
#include "tests/support/crash_harness.h"

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

using crash_test::CrashChild;
using crash_test::TempDir;

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

enum class KillMode { kTimer, kAfterAcks };

/// Starts the writer, kills it with SIGKILL, returns the acknowledgements it printed.
std::vector<Ack> run_and_kill(const std::filesystem::path& db, std::uint64_t first_k,
                              std::int64_t max_bytes, KillMode mode, std::mt19937_64& rng) {
  CrashChild w({PRIMUS_CAPTURE_CRASH_WRITER, db.string(), std::to_string(first_k),
                std::to_string(max_bytes)});
  if (mode == KillMode::kTimer) {
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30'000)(rng)));
  } else {
    const std::size_t want = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
    // Hang guard only (a writer that prints nothing for 30 s is broken); not a timing check.
    w.read_until(
        [&](const std::string& out) { return crash_test::count_lines_starting(out, "") >= want; },
        std::chrono::seconds(30));
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 2'000)(rng)));
  }
  const bool early_eof = w.eof();
  w.kill9();
  if (mode == KillMode::kAfterAcks) {
    EXPECT_FALSE(early_eof) << "writer closed stdout early";
  }
  return parse_acks(w.out());
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
  std::mt19937_64 rng(crash_test::crash_seed());
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
