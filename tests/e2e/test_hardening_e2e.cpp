// End-to-end hardening checks against the real primusd (docs/operations.md): what an outside probe
// of the binary found, each through the same doors an operator uses (control socket, SIGHUP).
//   - integer parameters of 2^32 and beyond are refused, never wrapped into another version;
//   - a FIFO or a directory as the config file does not stall the io thread on SIGHUP: status
//     keeps answering, the reload is refused with the reason;
//   - config.reload onto a truncated or a huge sparse weight file says the model did not load,
//     fast and without reading gigabytes, and the live model keeps serving;
//   - a full disk under the capture store is `unavailable: storage full`, counted in status, and
//     capturing works again once space returns (a real tmpfs; skipped where mount is refused).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "src/bus/control_client.h"
#include "src/model/classifier.h"
#include "tests/e2e/e2e_support.h"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using primus::e2e::Child;
using primus::e2e::NotifySocket;
using primus::e2e::slurp;
using primus::e2e::TempDir;

/// Peak resident set of a process (VmHWM), kB; -1 when unreadable.
long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct Hardening : ::testing::Test {
  TempDir dir{"primus_hard"};
  fs::path config = dir.path / "primusd.toml";
  std::string control = "ipc://" + (dir.path / "control.sock").string();
  zmq::context_t ctx{1};
  std::unique_ptr<Child> daemon;
  fs::path log = dir.path / "primusd.log";

  std::string extra_sections;  ///< appended to every config written

  std::string config_text(const std::string& model_extra = "") const {
    return "[daemon]\nlog_level = \"info\"\nruntime_dir = \"" + dir.path.string() +
           "\"\nstate_dir = \"" + dir.path.string() +
           "\"\nstatus_interval_s = 0.5\n"
           "[model]\nthreads = 1\ndevice = \"cpu\"\n" +
           model_extra +
           "[window]\nlength = 123\nhop = 10\n"
           "[batcher]\nmax_batch = 8\n"
           "[[devices]]\nid = \"s1\"\nadapter = \"sim\"\nrate_hz = 50\n" +
           extra_sections;
  }
  void start() {
    std::ofstream(config) << config_text();
    const fs::path notify_path = dir.path / "notify.sock";
    NotifySocket notify(notify_path);
    daemon = std::make_unique<Child>(
        std::vector<std::string>{PRIMUSD_PATH, "--config", config.string()},
        std::vector<std::string>{"NOTIFY_SOCKET=" + notify_path.string()}, log);
    std::string seen;
    ASSERT_TRUE(notify.wait_for("READY=1", 120s, &seen)) << seen << slurp(log);
  }
  json call(const std::string& method, const json& params = json::object(), double timeout = 10) {
    return primus::bus::control_call(ctx, control, method, params, timeout);
  }
  void TearDown() override {
    if (!daemon) return;
    kill(daemon->pid(), SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << slurp(log);
  }
};

TEST_F(Hardening, VersionsOfTwoToThe32AreRefusedNotWrapped) {
  start();
  const std::string live = call("status")["result"]["model"]["version"];
  for (const auto& [method, params] : std::vector<std::pair<std::string, json>>{
           {"models.activate", {{"version", 4294967296ULL}}},
           {"models.activate", {{"version", 4294967309ULL}}},
           {"models.rollback", {{"version", 4294967309ULL}}},
           {"models.activate", {{"version", -1}}},
           {"label.mark", {{"device", "s1"}, {"label", "wave"}, {"last_s", 1e300}}},
           {"label.mark",
            {{"device", "s1"}, {"label", "wave"}, {"from_host_ns", INT64_MIN}, {"to_host_ns", 5}}},
           {"label.start", {{"device", "s1"}, {"label", "a\u0085b"}}},
           {"label.start", {{"device", "s1"}, {"label", "evil\u202Etxt"}}},
           {"finetune.run", {{"wait", "yes"}}}}) {
    const auto r = call(method, params);
    SCOPED_TRACE(method + " " + params.dump());
    ASSERT_EQ(r["ok"], false) << r.dump();
    EXPECT_EQ(r["error"]["code"], "invalid_params") << r.dump();
  }
  EXPECT_EQ(call("status")["result"]["model"]["version"], live);
  EXPECT_EQ(call("devices.list")["result"]["devices"][0]["labelling"], nullptr);
}

TEST_F(Hardening, AFifoOrADirectoryAsTheConfigDoesNotStallTheIoThread) {
  start();
  // Replace the config by a FIFO nobody writes to, then SIGHUP: the io thread must keep serving.
  fs::remove(config);
  ASSERT_EQ(mkfifo(config.c_str(), 0600), 0);
  ASSERT_EQ(kill(daemon->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 5; ++i) {
    const auto r = call("status", json::object(), 5);
    ASSERT_EQ(r["ok"], true) << r.dump() << slurp(log);
  }
  auto r = call("config.reload", json::object(), 5);
  ASSERT_EQ(r["ok"], false) << r.dump();
  EXPECT_EQ(r["error"]["code"], "invalid_params");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("FIFO"), std::string::npos) << r.dump();
  // A directory names itself, not a missing [[devices]] table.
  fs::remove(config);
  fs::create_directory(config);
  r = call("config.reload", json::object(), 5);
  ASSERT_EQ(r["ok"], false) << r.dump();
  EXPECT_NE(r["error"]["message"].get<std::string>().find("directory"), std::string::npos)
      << r.dump();
  EXPECT_EQ(r["error"]["message"].get<std::string>().find("[[devices]]"), std::string::npos)
      << r.dump();
  fs::remove(config);
  std::ofstream(config) << config_text();  // for a clean stop
  EXPECT_NE(slurp(log).find("refusing the new configuration"), std::string::npos) << slurp(log);
}

TEST_F(Hardening, AReloadOntoABadWeightFileSaysSoAndKeepsServing) {
  start();
  const std::string live = call("status")["result"]["model"]["version"];
  // A truncated classifier file.
  primus::model::ModelInfo info;
  info.labels = {"null", "a"};
  info.window_length = 123;
  const auto good = dir.path / "good.safetensors";
  primus::model::Classifier::random(info, 3, "cpu")->save(good.string());
  const auto truncated = dir.path / "truncated.safetensors";
  fs::copy_file(good, truncated);
  fs::resize_file(truncated, fs::file_size(good) / 2);
  std::ofstream(config) << config_text("weights = \"" + truncated.string() + "\"\n");
  auto r = call("config.reload", json::object(), 60);
  ASSERT_EQ(r["ok"], false) << r.dump();
  const std::string msg = r["error"]["message"];
  EXPECT_NE(msg.find("model.weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did not load"), std::string::npos) << msg;
  EXPECT_NE(msg.find(live), std::string::npos) << msg;

  // A sparse 4 GiB file: refused from its header, without reading it.
  const auto sparse = dir.path / "sparse.safetensors";
  { std::ofstream(sparse).put('\0'); }
  fs::resize_file(sparse, 4ULL << 30);
  const long rss_before = peak_rss_kb(daemon->pid());
  std::ofstream(config) << config_text("weights = \"" + sparse.string() + "\"\n");
  const auto t0 = std::chrono::steady_clock::now();
  r = call("config.reload", json::object(), 60);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r["ok"], false) << r.dump();
  EXPECT_NE(r["error"]["message"].get<std::string>().find("did not load"), std::string::npos);
  const long rss_after = peak_rss_kb(daemon->pid());
  std::cout << "[ hardening ] sparse 4 GiB weights refused in " << s << " s; peak RSS "
            << rss_before / 1024 << " -> " << rss_after / 1024 << " MB\n";
  EXPECT_LT(rss_after - rss_before, 256 * 1024) << "the file was read whole";
  EXPECT_EQ(call("status")["result"]["model"]["version"], live);
  std::ofstream(config) << config_text();
}

/// A small tmpfs, unmounted at destruction; mounted() is false where mount(2) is refused.
struct SmallTmpfs {
  fs::path dir;
  bool ok = false;
  SmallTmpfs(const fs::path& d, const char* size) : dir(d) {
    fs::create_directories(dir);
    ok = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (ok) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

TEST_F(Hardening, AFullDiskUnderTheCaptureStoreIsUnavailableCountedAndRecovers) {
  SmallTmpfs small(dir.path / "small", "1m");
  if (!small.ok) GTEST_SKIP() << "mount tmpfs refused here (" << std::strerror(errno) << ")";
  extra_sections = "[capture]\ndatabase = \"" + (small.dir / "captures.db").string() + "\"\n";
  start();
  const json mark{{"device", "s1"}, {"label", "wave"}, {"last_s", 1.0}};
  std::this_thread::sleep_for(1500ms);  // a second of history
  auto r = call("label.mark", mark);
  ASSERT_EQ(r["ok"], true) << r.dump() << slurp(log);
  // Fill the file system to the last byte.
  const auto filler = small.dir / "filler";
  {
    std::ofstream f(filler, std::ios::binary);
    const std::string block(4096, 'x');
    while (f.write(block.data(), block.size())) {
    }
  }
  int full = 0;
  for (int i = 0; i < 5; ++i) {
    r = call("label.mark", mark);
    if (r["ok"] == false) {
      EXPECT_EQ(r["error"]["code"], "unavailable") << r.dump();
      EXPECT_NE(r["error"]["message"].get<std::string>().find("storage full"), std::string::npos)
          << r.dump();
      ++full;
    }
  }
  EXPECT_GE(full, 4) << "captures kept fitting on a full file system";
  const auto st = call("status")["result"]["capture"];
  EXPECT_GE(st["storage_full"].get<int>(), full) << st.dump();
  // Space returns: capturing works again, without a restart.
  fs::remove(filler);
  r = call("label.mark", mark);
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_NE(slurp(log).find("storage"), std::string::npos) << slurp(log);
  std::cout << "[ hardening ] full disk: " << full << " of 5 captures refused as storage full, "
            << "then stored again once space returned\n";
}

}  // namespace
