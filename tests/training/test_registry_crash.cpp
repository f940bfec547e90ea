// kill -9 at random moments during model registry writes, then check that the registry opens,
// leaves no temporaries behind, and holds every acknowledged version complete: meta.json with the
// right number and k, a model file that loads and computes exactly what the classifier built
// from k computes. The writer is a separate process (registry_crash_writer) so that SIGKILL hits
// it in the middle of whatever it is doing: opening the registry and removing temporaries,
// building a classifier, reserving a number, writing and fsyncing the model or meta.json,
// renaming the version into place, replacing `active`.
//
// Half of the kills come on a random timer 0-300 ms after the writer's "start" line, printed
// right before it opens the registry (LibTorch's own start-up, about 0.7 s, comes before it and
// touches no file): opening, removing leftovers, the first few versions; half 0-30 ms after a
// random 1-4 acknowledgements (a version write in flight). The writer is killed again and again
// on the same directory, so damage would accumulate. The seed is printed; PRIMUS_CRASH_SEED=N
// repeats a sequence of kill moments.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "src/app/logging.h"
#include "src/model/classifier.h"
#include "src/training/registry.h"
#include "tests/support/crash_harness.h"
#include "tests/training/registry_crash_data.h"

namespace primus::training {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Ack {
  int version = 0;
  std::uint64_t k = 0;
};

struct RunOutput {
  std::vector<Ack> acks;
  std::vector<int> actives;  ///< "active V" lines, in order
};

struct Totals {
  int kills = 0;
  int timer_kills = 0;
  int ack_kills = 0;
  std::size_t acks = 0;
  std::size_t activations = 0;
  std::size_t versions_loaded = 0;    ///< loads + output comparisons
  std::size_t versions_rehashed = 0;  ///< re-checks of a loaded version by its file's bytes
  std::size_t unacked_versions = 0;   ///< complete versions whose ack the kill cut off, at the end
};

using crash_test::CrashChild;
using crash_test::TempDir;

RunOutput parse_output(const std::string& out) {
  RunOutput r;
  std::size_t start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::istringstream line(out.substr(start, nl - start));
    std::string word;
    if (!(line >> word)) continue;
    if (word == "ack") {
      Ack a;
      if (line >> a.version >> a.k) r.acks.push_back(a);
    } else if (word == "active") {
      int v = 0;
      if (line >> v) r.actives.push_back(v);
    }
  }
  return r;  // a line cut by the kill has no newline and is ignored (that ack is unchecked)
}

enum class KillMode { kTimer, kAfterAcks };

/// Starts the writer on `dir`, kills it with SIGKILL, returns what it printed.
RunOutput run_and_kill(const fs::path& dir, std::uint64_t first_k, KillMode mode,
                       std::mt19937_64& rng) {
  CrashChild w({PRIMUS_REGISTRY_CRASH_WRITER, dir.string(), std::to_string(first_k)});
  // Hang guards only (a writer silent for 60 s is broken); not timing checks.
  if (mode == KillMode::kTimer) {
    w.read_until([](const std::string& out) { return out.find("start\n") != std::string::npos; },
                 std::chrono::seconds(60));
    w.read_until_time(Clock::now() + std::chrono::microseconds(
                                         std::uniform_int_distribution<int>(0, 300'000)(rng)));
  } else {
    const std::size_t want = std::uniform_int_distribution<std::size_t>(1, 4)(rng);
    w.read_until(
        [&](const std::string& out) {
          return crash_test::count_lines_starting(out, "ack ") >= want;
        },
        std::chrono::seconds(60));
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30'000)(rng)));
  }
  const bool early_eof = w.eof();
  w.kill9();
  EXPECT_NE(w.out().find("start\n"), std::string::npos) << "writer never started";
  EXPECT_FALSE(early_eof) << "writer closed stdout early";
  return parse_output(w.out());
}

/// One fixed input window, [1, 6, 123].
const std::vector<float>& fixed_window() {
  static const std::vector<float> w = [] {
    std::vector<float> x(static_cast<std::size_t>(model::kChannels * model::kMinLength));
    std::uint64_t s = 0x9E3779B97F4A7C15ull;
    for (auto& v : x) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      v = static_cast<float>(static_cast<double>(s >> 11) / 9007199254740992.0 * 20.0 - 10.0);
    }
    return x;
  }();
  return w;
}

std::vector<float> outputs_of(model::Classifier& m) {
  std::vector<float> probs(static_cast<std::size_t>(m.num_classes()));
  m.predict(fixed_window().data(), 1, model::kMinLength, probs.data());
  return probs;
}

/// What Classifier::random(info, k) computes on the fixed window (cached: it depends on k only).
const std::vector<float>& expected_outputs(std::uint64_t k) {
  static std::map<std::uint64_t, std::vector<float>> cache;
  auto it = cache.find(k);
  if (it == cache.end()) {
    auto m = model::Classifier::random(crash::crash_model_info(), k, "cpu");
    it = cache.emplace(k, outputs_of(*m)).first;
  }
  return it->second;
}

/// Hash of a file's bytes.
std::size_t fingerprint(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  return std::hash<std::string_view>{}(bytes) ^ bytes.size();
}

struct Verified {
  std::uint64_t k = 0;
  std::size_t print = 0;  ///< fingerprint() of the model file that loaded and matched
};

/// The history of one directory across its kills.
struct History {
  std::map<int, Verified> verified;  ///< versions that loaded and matched their k
  std::vector<Ack> acks;             ///< every acknowledged version, in order
  int last_active = 0;               ///< the last acknowledged "active V"
  int max_on_disk = 0;               ///< highest version present at the previous check
  int next_floor = 0;     ///< <dir>/next at the previous check: numbers below it are spent
  std::set<int> unacked;  ///< complete versions on disk that were never acknowledged
};

/// Opens the registry as the daemon does on restart and checks everything it holds.
void check_registry(const fs::path& dir, const RunOutput& run, History& h, Totals& t) {
  // Numbers increase: this run's versions come after every version ever on disk (acknowledged
  // or not, so a number whose ack the kill cut off is not handed out again) and after each other.
  int prev = std::max(h.max_on_disk, h.next_floor - 1);
  for (const Ack& a : run.acks) {
    EXPECT_GT(a.version, prev) << "version number reused or out of order (k " << a.k << ")";
    prev = a.version;
  }
  h.acks.insert(h.acks.end(), run.acks.begin(), run.acks.end());
  for (int v : run.actives) h.last_active = std::max(h.last_active, v);

  ModelRegistry reg(dir);  // removes leftover temporaries

  // No temporaries remain, and every version directory holds exactly its two files.
  std::map<int, std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << "temporary left after open: " << name;
    if (!e.is_directory()) {
      EXPECT_TRUE(name == "next" || name == "active") << "unexpected file " << name;
      continue;
    }
    int v = -1;
    try {
      v = std::stoi(name);
    } catch (const std::exception&) {
    }
    ASSERT_GT(v, 0) << "unexpected directory " << name;
    EXPECT_EQ(std::to_string(v), name) << "non-canonical version directory";
    EXPECT_TRUE(names.emplace(v, name).second) << "two directories for version " << v;
    std::set<std::string> files;
    for (const auto& f : fs::directory_iterator(e.path())) files.insert(f.path().filename());
    EXPECT_EQ(files, (std::set<std::string>{"meta.json", "model.safetensors"}))
        << "version " << v << " is incomplete or holds leftovers";
  }

  // Every version on disk (acknowledged or not: a version is complete or absent) is accepted,
  // numbered right, and loads into the classifier its k builds.
  const auto listed = reg.list();
  std::map<int, std::uint64_t> k_of;
  int prev_listed = 0;
  for (const VersionInfo& vi : listed) {
    SCOPED_TRACE("version " + std::to_string(vi.version));
    EXPECT_GT(vi.version, prev_listed);
    prev_listed = vi.version;
    ASSERT_NE(vi.status, "broken");
    EXPECT_EQ(vi.status, "accepted");
    ASSERT_TRUE(vi.meta.contains("k") && vi.meta["k"].is_number_unsigned()) << vi.meta.dump();
    EXPECT_EQ(vi.meta.value("version", -1), vi.version);
    const auto k = vi.meta["k"].get<std::uint64_t>();
    k_of[vi.version] = k;
    h.max_on_disk = std::max(h.max_on_disk, vi.version);
    // A file byte-identical to one that passed below passes again: hash it instead of loading.
    const std::size_t print = fingerprint(reg.model_path(vi.version));
    if (const auto it = h.verified.find(vi.version);
        it != h.verified.end() && it->second.k == k && it->second.print == print) {
      ++t.versions_rehashed;
      continue;
    }
    std::unique_ptr<model::Classifier> m;
    try {
      m = model::Classifier::load(reg.model_path(vi.version).string(), "cpu");
    } catch (const std::exception& e) {
      FAIL() << "does not load: " << e.what();
    }
    EXPECT_EQ(m->info().version, "v" + std::to_string(vi.version));
    EXPECT_EQ(m->info().labels, crash::crash_model_info().labels);
    const auto got = outputs_of(*m);
    const auto& want = expected_outputs(k);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
        << "weights differ from Classifier::random(k " << k << ")";
    ++t.versions_loaded;
    if (!::testing::Test::HasFailure()) h.verified[vi.version] = Verified{k, print};
  }
  EXPECT_EQ(listed.size(), names.size()) << "list() and the directory disagree";

  // Every acknowledged version is there with its k.
  std::set<int> acked;
  for (const Ack& a : h.acks) {
    acked.insert(a.version);
    const auto it = k_of.find(a.version);
    ASSERT_NE(it, k_of.end()) << "acknowledged version " << a.version << " (k " << a.k
                              << ") is missing";
    EXPECT_EQ(it->second, a.k) << "version " << a.version << " holds another model";
  }
  h.unacked.clear();
  for (const auto& [v, k] : k_of)
    if (acked.count(v) == 0) h.unacked.insert(v);

  // The reserved-number file is never behind what is on disk.
  {
    std::ifstream in(dir / "next");
    int next = 0;
    if (in >> next) {
      EXPECT_GT(next, h.max_on_disk) << "<dir>/next is behind the versions on disk";
      h.next_floor = next;
    }
  }

  // `active` is at least the last acknowledged activation, and names a version that loaded.
  const int act = reg.active();
  EXPECT_GE(act, h.last_active) << "acknowledged activation lost";
  if (act != 0) {
    EXPECT_EQ(k_of.count(act), 1u) << "active version " << act << " is not on disk";
  }
}

TEST(RegistryCrash, EveryAcknowledgedVersionSurvivesKill9) {
  constexpr int kDirs = 5;
  constexpr int kKillsPerDir = 10;
  model::set_inference_threads(1);
  app::set_log_level("warn");  // not one "loaded classifier" line per check
  std::mt19937_64 rng(crash_test::crash_seed());
  // The output comparison tells models apart: neighbouring k give different outputs.
  ASSERT_NE(expected_outputs(1), expected_outputs(2));
  TempDir tmp("primus-regcrash");
  Totals t;
  std::uint64_t next_k = 1;
  const auto start = Clock::now();
  for (int d = 0; d < kDirs; ++d) {
    const fs::path dir = tmp.path() / ("reg" + std::to_string(d));
    History h;
    // Half the kills on a timer, half after acknowledgements, in a random order.
    std::vector<KillMode> modes;
    for (int i = 0; i < kKillsPerDir; ++i)
      modes.push_back(i % 2 == 0 ? KillMode::kTimer : KillMode::kAfterAcks);
    std::shuffle(modes.begin(), modes.end(), rng);
    for (int i = 0; i < kKillsPerDir; ++i) {
      SCOPED_TRACE("directory " + std::to_string(d) + ", kill " + std::to_string(i));
      const RunOutput run = run_and_kill(dir, next_k, modes[static_cast<std::size_t>(i)], rng);
      next_k += 1000;  // k ranges never overlap between runs
      ++t.kills;
      (modes[static_cast<std::size_t>(i)] == KillMode::kTimer ? t.timer_kills : t.ack_kills)++;
      t.acks += run.acks.size();
      t.activations += run.actives.size();
      // Every ack so far on this directory, not only this run's: a later crash must not lose
      // older versions.
      check_registry(dir, run, h, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
    t.unacked_versions += h.unacked.size();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "[ crash    ] " << t.kills << " kills (" << t.timer_kills << " on a timer, "
            << t.ack_kills << " after acks), " << t.acks << " acknowledged versions, "
            << t.activations << " acknowledged activations; " << t.versions_loaded
            << " versions loaded and compared, " << t.versions_rehashed
            << " re-checked by their bytes after later kills; " << t.unacked_versions
            << " complete versions whose ack was cut off, " << secs << " s\n";
  EXPECT_GE(t.kills, 50);
  EXPECT_GT(t.acks, 0u);         // the kill-after-acks runs guarantee some
  EXPECT_GT(t.activations, 0u);  // and some activations
}

}  // namespace
}  // namespace primus::training
