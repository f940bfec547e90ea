// `primusctl captures import` and `primusctl evaluate` through the real binaries: JSON on stdout,
// the store after a kill -9 at random moments of an import (every file whole or absent), and
// evaluate's report on a recording (primusctl execs primus-model).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "src/capture/capture_store.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/crash_harness.h"

extern char** environ;

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using primus::e2e::slurp;

/// primusctl with stdout/stderr in files; returns the pid.
pid_t spawn_ctl(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<std::string> argv = {PRIMUSCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn primusctl");
  return pid;
}

struct Run {
  int rc = -1;
  std::string out, err;
};

Run ctl(const std::vector<std::string>& args, const fs::path& dir) {
  static int n = 0;
  const auto out = dir / ("o" + std::to_string(n)), err = dir / ("e" + std::to_string(n++));
  const pid_t pid = spawn_ctl(args, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

/// A labelled CSV at 100 Hz: a gesture of 1-3 s every 8 s, labels cycling through `labels`.
void write_recording(const fs::path& path, double seconds, const std::vector<std::string>& labels) {
  std::ofstream f(path);
  f << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z,label\n";
  const auto n = static_cast<long>(seconds * 100);
  for (long i = 0; i < n; ++i) {
    const double t = i / 100.0;
    const long g = static_cast<long>(t / 8.0);
    const double in = t - g * 8.0;
    const double len = 1.0 + static_cast<double>(g % 3);
    const bool on = in >= 2.0 && in < 2.0 + len;
    const auto k = static_cast<std::size_t>(g) % labels.size();
    f << t << "," << (on ? 3.0 * std::sin(9 * t) + static_cast<double>(k) : 0.0) << ",0.2,9.81,"
      << (on ? std::cos(7 * t) : 0.01) << ",0,0," << (on ? labels[k] : "") << "\n";
  }
}

std::int64_t count_from(const fs::path& db, const std::string& file_part) {
  primus::capture::StoreOptions so;
  so.read_only = true;
  primus::capture::CaptureStore s(db, so);
  std::int64_t n = 0;
  for (const auto& c : s.list())
    if (c.conversion.find(file_part) != std::string::npos) ++n;
  EXPECT_TRUE(s.integrity_check().ok);
  return n;
}

}  // namespace

TEST(ImportE2E, JsonReportDryRunAndStore) {
  primus::e2e::TempDir dir;
  const auto rec = dir.path / "rec.csv";
  write_recording(rec, 120, {"wave", "tap"});
  const auto db = (dir.path / "c.db").string();
  auto dry = ctl({"captures", "import", rec.string(), "--db", db, "--dry-run", "--json"}, dir.path);
  ASSERT_EQ(dry.rc, 0) << dry.err;
  const auto j = json::parse(dry.out);  // one JSON document, nothing else on stdout
  EXPECT_TRUE(j["dry_run"].get<bool>());
  EXPECT_EQ(j["rows"], 12000);
  std::int64_t labelled = 0;
  for (const auto& c : j["captures"]) labelled += c["label"] != "null";
  EXPECT_EQ(labelled, 15);  // one gesture every 8 s
  EXPECT_FALSE(fs::exists(db));
  auto real = ctl({"captures", "import", rec.string(), "--db", db, "--json"}, dir.path);
  ASSERT_EQ(real.rc, 0) << real.err;
  const auto k = json::parse(real.out);
  EXPECT_EQ(k["captures"].size(), j["captures"].size());
  EXPECT_EQ(count_from(db, "rec.csv"), static_cast<std::int64_t>(k["captures"].size()));
  // A bad option value is a usage error naming the key; a missing file a failure.
  auto bad =
      ctl({"captures", "import", "--set", "acc_unit=gee", rec.string(), "--db", db}, dir.path);
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("acc_unit"), std::string::npos) << bad.err;
  auto missing =
      ctl({"captures", "import", (dir.path / "nope.csv").string(), "--db", db}, dir.path);
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.err.find("nope.csv"), std::string::npos) << missing.err;
}

TEST(ImportE2E, KillNineDuringImportsLeavesEveryFileWholeOrAbsent) {
  primus::e2e::TempDir dir;
  const auto rec = dir.path / "long.csv";
  write_recording(rec, 1200, {"wave", "tap", "circle"});  // 20 min, 150 gestures
  const auto db = (dir.path / "c.db").string();
  auto dry = ctl({"captures", "import", rec.string(), "--db", db, "--dry-run", "--json"}, dir.path);
  ASSERT_EQ(dry.rc, 0) << dry.err;
  const auto per_file = static_cast<std::int64_t>(json::parse(dry.out)["captures"].size());
  ASSERT_GT(per_file, 150);
  // How long one import takes here, to spread the kills over it.
  const auto t0 = std::chrono::steady_clock::now();
  auto first = ctl({"captures", "import", rec.string(), "--db", db}, dir.path);
  ASSERT_EQ(first.rc, 0) << first.err;
  const auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::int64_t whole = 1;
  ASSERT_EQ(count_from(db, "long.csv"), per_file);
  std::mt19937_64 rng(primus::crash_test::crash_seed());
  int killed = 0;
  // The captures are written in one transaction at the end of an import: most kills land
  // around it (half to one and a half times a whole import), so that some imports die while
  // writing and some complete.
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds; ++round) {
    const auto at =
        std::uniform_int_distribution<long>(round < 2 ? 0 : full_ms / 2, full_ms * 3 / 2)(rng);
    const pid_t pid = spawn_ctl({"captures", "import", rec.string(), "--db", db}, dir.path / "kout",
                                dir.path / "kerr");
    std::this_thread::sleep_for(std::chrono::milliseconds(at));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    killed += WIFSIGNALED(status) ? 1 : 0;
    const auto n = count_from(db, "long.csv");
    SCOPED_TRACE("round " + std::to_string(round) + ", kill at " + std::to_string(at) + " ms");
    ASSERT_EQ(n % per_file, 0) << n << " captures: a file was stored in part";
    ASSERT_TRUE(n / per_file == whole || n / per_file == whole + 1) << n;
    whole = n / per_file;
  }
  EXPECT_GT(killed, 0);
  std::cout << "[ imports  ] one import " << full_ms << " ms; " << killed << " of " << kRounds
            << " killed; files stored whole: " << whole << "\n";
}

TEST(EvaluateE2E, PrimusctlEvaluateRunsPrimusModel) {
  primus::e2e::TempDir dir;
  const auto rec = dir.path / "rec.csv";
  write_recording(rec, 60, {"wave", "tap"});
  auto r = ctl({"evaluate", rec.string(), "--random", "--json", "--list-events"}, dir.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["model_version"], "random");
  EXPECT_EQ(j["events"]["segments"], 8);  // a gesture every 8 s, the last one cut by the end
  EXPECT_GT(j["windows"]["total"].get<int>(), 200);
  EXPECT_TRUE(j.contains("event_list"));
  // Deterministic: the same report again.
  auto again = ctl({"evaluate", rec.string(), "--random", "--json", "--list-events"}, dir.path);
  EXPECT_EQ(again.out, r.out);
  auto usage = ctl({"evaluate", rec.string()}, dir.path);
  EXPECT_EQ(usage.rc, 2);
  EXPECT_NE(usage.err.find("--weights"), std::string::npos) << usage.err;
}
