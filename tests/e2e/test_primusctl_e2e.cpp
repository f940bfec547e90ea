// primusctl's output contract through the real binary (docs/control.md "Exit status and --json"):
// every command that prints a result prints, with --json, exactly one JSON document on stdout
// (events: one per line) and nothing else there; exit statuses are 0 ok, 1 failed, 2 usage,
// 3 daemon not reached. The daemon side is a real bus::ControlServer and a real PUB socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "src/bus/control_server.h"
#include "src/capture/capture_store.h"
#include "src/model/classifier.h"
#include "tests/e2e/e2e_support.h"
#include "tests/unit/capture/capture_test_util.h"

extern char** environ;

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using primus::e2e::slurp;
using primus::e2e::TempDir;

struct Result {
  int rc = -1;  ///< exit status; -1 killed by a signal or still running after the limit
  std::string out, err;
};

/// Runs primusctl ARGS with stdout and stderr in separate files; waits up to `limit`.
Result primusctl(const std::vector<std::string>& args, const fs::path& dir,
                 std::chrono::seconds limit = 60s) {
  static int n = 0;
  const fs::path out = dir / ("out" + std::to_string(n));
  const fs::path err = dir / ("err" + std::to_string(n++));
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
  Result r;
  if (posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    ADD_FAILURE() << "cannot start " << PRIMUSCTL_PATH;
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  const auto end = std::chrono::steady_clock::now() + limit;
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      ADD_FAILURE() << "primusctl still running after " << limit.count() << " s";
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

/// `text` is exactly one JSON document on one line (what `| jq` needs); returns it.
json one_json_line(const std::string& text) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "more than one line: " << text;
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j;
}

std::string fmt_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " " + a;
  return s;
}

/// A control server answering every primusctl control method with a canned result.
struct FakeDaemon {
  TempDir dir{"primus_ctl_e2e"};
  zmq::context_t ctx{1};
  std::string endpoint = "ipc://" + (dir.path / "control.sock").string();
  primus::bus::ControlServer server{ctx, {endpoint}};
  std::vector<std::pair<std::string, json>> results = {
      {"status",
       {{"schema", 1}, {"version", "0.1.0"}, {"uptime_s", 12.5}, {"devices", json::array()}}},
      {"devices.list",
       {{"devices", {{{"id", "a"}, {"state", "connected"}, {"adapter", "sim"}, {"windows", 3}}}}}},
      {"config.reload",
       {{"changes", {"events.onset_threshold: 0.6 -> 0.7"}}, {"restart", json::array()}}},
      {"labels.list", {{"model_labels", {"null", "wave"}}, {"captured", json::array()}}},
      {"label.start", {{"device", "a"}, {"label", "wave"}, {"t_start_host_ns", 5}}},
      {"label.stop", {{"capture_id", 7}, {"device", "a"}, {"label", "wave"}, {"samples", 250}}},
      {"label.mark", {{"capture_id", 8}, {"device", "a"}, {"label", "wave"}, {"samples", 100}}},
      {"captures.stats", {{"captures", 2}, {"samples", 350}, {"by_label", json::array()}}},
      {"finetune.run", {{"job", 3}, {"state", "queued"}}},
      {"finetune.status", {{"state", "idle"}}},
      {"models.list", {{"active", 1}, {"versions", {{{"version", 1}, {"status", "base"}}}}}},
      {"models.activate", {{"active", 2}, {"previous", 1}}},
      {"models.rollback", {{"active", 1}, {"previous", 2}}},
      {"custom.echo", {{"anything", {1, 2}}}},
  };

  FakeDaemon() {
    for (const auto& [method, result] : results)
      server.on(method, [result = result](const json&, primus::bus::Responder r) { r.ok(result); });
    server.on("custom.fail",
              [](const json&, primus::bus::Responder r) { r.fail("conflict", "it is busy"); });
    server.start();
  }
  json result_of(const std::string& method) const {
    for (const auto& [m, r] : results)
      if (m == method) return r;
    return {};
  }
};

TEST(PrimusctlJson, EveryControlCommandPrintsOneJsonDocumentOnStdout) {
  FakeDaemon d;
  const std::vector<std::pair<std::vector<std::string>, std::string>> commands = {
      {{"status"}, "status"},
      {{"devices"}, "devices.list"},
      {{"reload"}, "config.reload"},
      {{"labels"}, "labels.list"},
      {{"label", "start", "a", "wave"}, "label.start"},
      {{"label", "stop", "a"}, "label.stop"},
      {{"label", "mark", "a", "wave", "--last", "1"}, "label.mark"},
      {{"captures", "stats"}, "captures.stats"},
      {{"finetune", "--mode", "head"}, "finetune.run"},
      {{"finetune", "status"}, "finetune.status"},
      {{"models", "list"}, "models.list"},
      {{"models", "activate", "2"}, "models.activate"},
      {{"models", "rollback"}, "models.rollback"},
      {{"call", "custom.echo", "{}"}, "custom.echo"},
  };
  for (const auto& [args, method] : commands) {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"-e", d.endpoint, "--json"});
    const Result r = primusctl(a, d.dir.path);
    EXPECT_EQ(r.rc, 0) << fmt_args(a) << "\n" << r.err;
    EXPECT_EQ(one_json_line(r.out), d.result_of(method)) << fmt_args(a);
    // The human form goes to stdout too, and is not JSON for the known methods.
    a.pop_back();
    const Result human = primusctl(a, d.dir.path);
    EXPECT_EQ(human.rc, 0) << fmt_args(a) << "\n" << human.err;
    EXPECT_FALSE(human.out.empty()) << fmt_args(a);
  }
}

TEST(PrimusctlExitStatus, OkFailedUsageAndNotReachedAreZeroOneTwoThree) {
  FakeDaemon d;
  const std::string ep = d.endpoint;
  const std::string missing = "ipc://" + (d.dir.path / "nobody.sock").string();
  const struct {
    std::vector<std::string> args;
    int rc;
  } cases[] = {
      {{"--help"}, 0},
      {{"--version"}, 0},
      {{"status", "--help"}, 0},
      // 1: the daemon answered with an error
      {{"call", "custom.fail", "-e", ep, "--json"}, 1},
      {{"call", "no.such.method", "-e", ep}, 1},
      // 2: usage errors, whatever the command
      {{}, 2},
      {{"no-such-command"}, 2},
      {{"status", "--no-such-option", "-e", ep}, 2},
      {{"label", "start", "a", "-e", ep}, 2},  // LABEL missing
      {{"label", "mark", "a", "wave", "-e", ep}, 2},
      {{"call", "custom.echo", "[1]", "-e", ep}, 2},
      {{"status", "-e", "nonsense://x"}, 2},
      {{"status", "-c", (d.dir.path / "missing.toml").string()}, 2},
      {{"events", "--topic", "nope", "-e", ep}, 2},
      {{"events", "-c", (d.dir.path / "missing.toml").string()}, 2},
      {{"keygen"}, 2},
      {{"quat2gyro", "--in", "x.csv"}, 2},
      {{"captures", "export", "--out", "x.csv"}, 2},
      {{"captures", "export", "--format", "csv", "--out", "x.csv"}, 2},  // no --db, no --config
      {{"model"}, 2},                                                    // primus-model
      {{"embed", "--in", "x.csv"}, 2},                                   // primus-model
      // 3: the daemon was not reached
      {{"status", "-e", missing, "--timeout", "0.2"}, 3},
      {{"models", "list", "-e", missing, "--timeout", "0.2", "--json"}, 3},
      {{"events", "-e", missing, "--timeout", "0.3"}, 3},
  };
  for (const auto& c : cases) {
    const Result r = primusctl(c.args, d.dir.path);
    EXPECT_EQ(r.rc, c.rc) << "primusctl" << fmt_args(c.args) << "\nstdout: " << r.out
                          << "\nstderr: " << r.err;
    if (c.rc != 0) {
      EXPECT_TRUE(r.out.empty()) << "primusctl" << fmt_args(c.args)
                                 << " printed on stdout: " << r.out;
      EXPECT_FALSE(r.err.empty()) << "primusctl" << fmt_args(c.args) << " said nothing on stderr";
    }
  }
  const Result fail = primusctl({"call", "custom.fail", "-e", ep}, d.dir.path);
  EXPECT_EQ(fail.err, "error conflict: it is busy\n");
}

TEST(PrimusctlJson, EventsPrintsOneJsonObjectPerLineAndSkipsBodiesThatAreNot) {
  TempDir dir{"primus_ctl_e2e"};
  zmq::context_t ctx(1);
  zmq::socket_t pub(ctx, zmq::socket_type::pub);
  const std::string ep = "ipc://" + (dir.path / "events.sock").string();
  pub.bind(ep);
  std::atomic<bool> done{false};
  // Publish until primusctl has what it asked for (a subscriber joins late: slow joiner).
  std::thread publisher([&] {
    for (int i = 0; !done.load(); ++i) {
      const std::string body =
          i % 2 ? "not json {" : json{{"schema", 1}, {"type", "gesture"}, {"seq", i}}.dump();
      std::array<zmq::const_buffer, 2> parts = {zmq::str_buffer("gesture.a"), zmq::buffer(body)};
      (void)zmq::send_multipart(pub, parts);
      std::this_thread::sleep_for(10ms);
    }
  });
  const Result r =
      primusctl({"events", "-e", ep, "--json", "-n", "3", "--timeout", "30"}, dir.path);
  done = true;
  publisher.join();
  EXPECT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["type"], "gesture");
  }
  EXPECT_EQ(n, 3) << r.out;  // -n counts printed messages, not skipped ones
  EXPECT_NE(r.err.find("not a JSON object"), std::string::npos) << r.err;
}

TEST(PrimusctlJson, KeygenPrintsTheFilesAndThePublicKey) {
  TempDir dir{"primus_ctl_e2e"};
  const std::string prefix = (dir.path / "server").string();
  const Result r = primusctl({"keygen", prefix, "--json"}, dir.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = one_json_line(r.out);
  EXPECT_EQ(j["secret_file"], prefix + ".secret");
  EXPECT_EQ(j["public_file"], prefix + ".public");
  ASSERT_TRUE(j["public_key"].is_string());
  EXPECT_EQ(j["public_key"].get<std::string>().size(), 40u);
  EXPECT_EQ(slurp(prefix + ".public"), j["public_key"].get<std::string>() + "\n");
  EXPECT_EQ(
      primusctl({"keygen", (dir.path / "no" / "such" / "dir").string(), "--json"}, dir.path).rc, 1);
}

TEST(PrimusctlJson, CapturesExportPrintsItsSummary) {
  TempDir dir{"primus_ctl_e2e"};
  const fs::path db = dir.path / "captures.db";
  {
    primus::capture::CaptureStore store(db);
    store.append(primus::capture::test::make_record(3, "wave", "wrist", 1));
    store.append(primus::capture::test::make_record(4, "tap", "wrist", 2));
  }
  const fs::path out = dir.path / "all.csv";
  const Result r = primusctl({"captures", "export", "--db", db.string(), "--format", "csv", "--out",
                              out.string(), "--json"},
                             dir.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = one_json_line(r.out);
  EXPECT_EQ(j["captures"], 2);
  EXPECT_EQ(j["samples"], 7);
  EXPECT_EQ(j["format"], "csv");
  EXPECT_EQ(j["out"], out.string());
  EXPECT_EQ(j["bytes"], static_cast<std::int64_t>(fs::file_size(out)));
  // Without --json the summary is on stderr, stdout stays empty.
  const Result human = primusctl(
      {"captures", "export", "--db", db.string(), "--format", "csv", "--out", out.string()},
      dir.path);
  EXPECT_EQ(human.rc, 0) << human.err;
  EXPECT_TRUE(human.out.empty()) << human.out;
  EXPECT_NE(human.err.find("exported 2 captures"), std::string::npos) << human.err;
  // A database that is not there: the export fails (1), nothing on stdout.
  const Result bad = primusctl({"captures", "export", "--db", (dir.path / "none.db").string(),
                                "--format", "csv", "--out", out.string(), "--json"},
                               dir.path);
  EXPECT_EQ(bad.rc, 1) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

TEST(PrimusctlJson, ModelInfoAndEmbedThroughPrimusModel) {
  TempDir dir{"primus_ctl_e2e"};
  primus::model::ModelInfo info;
  info.labels = {"null", "wave", "tap"};
  info.window_length = 123;
  info.version = "test-v1";
  const fs::path weights = dir.path / "clf.safetensors";
  primus::model::Classifier::random(info, 3, "cpu")->save(weights.string());

  Result r = primusctl({"model", "info", weights.string(), "--json"}, dir.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  json j = one_json_line(r.out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["kind"], "classifier");
  EXPECT_EQ(j["labels"], json({"null", "wave", "tap"}));
  EXPECT_EQ(j["window_length"], 123);
  EXPECT_GT(j["parameters"].get<std::int64_t>(), 0);
  EXPECT_EQ(j["file_bytes"].get<std::uint64_t>(), fs::file_size(weights));

  // A safetensors file that is no PRIMUS model: still one document, "valid": false, exit 1.
  const fs::path odd = dir.path / "odd.safetensors";
  {
    const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    std::ofstream f(odd, std::ios::binary);
    const std::uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header;
    f.write("\0\0\0\0", 4);
  }
  r = primusctl({"model", "info", odd.string(), "--json"}, dir.path);
  EXPECT_EQ(r.rc, 1) << r.err;
  j = one_json_line(r.out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_TRUE(j["error"].is_string());

  const fs::path window = dir.path / "w.csv";
  {
    std::ofstream f(window);
    f << "ax,ay,az,gx,gy,gz\n";
    for (int t = 0; t < 123; ++t) f << 0.1 * t << ",0,9.81,0,0.2,0\n";
  }
  r = primusctl({"embed", "--weights", weights.string(), "--in", window.string(), "--json"},
                dir.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  j = one_json_line(r.out);
  EXPECT_EQ(j["output"], "mmcl");
  ASSERT_TRUE(j["vector"].is_array());
  EXPECT_EQ(j["vector"].size(), 512u);
  for (const auto& v : j["vector"]) EXPECT_TRUE(v.is_number()) << v;
}

}  // namespace
