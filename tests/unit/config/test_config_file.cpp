// load_config() on paths that are not plain config files: it must refuse them with the path
// named, quickly, and never block (a FIFO with no writer would block a naive open/read).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "src/config/config.h"

namespace primus {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kDevice = "[[devices]]\nid = \"w1\"\nadapter = \"sim\"\n";

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("primus_cfg_file_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// load_config(p)'s error message; fails the test if it loads.
  static std::string error_of(const fs::path& p) {
    try {
      load_config(p);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "loaded " << p;
    return {};
  }

  fs::path dir_;
};

TEST_F(ConfigFile, FifoIsRefusedWithoutBlocking) {
  const fs::path fifo = dir_ / "primusd.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&] { return error_of(fifo); });
  if (result.wait_for(10s) != std::future_status::ready) {
    // Unblock the reader (a writer that closes at once gives it EOF), then fail.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    result.wait();
    FAIL() << "load_config blocked on a FIFO";
  }
  EXPECT_EQ(result.get(), fifo.string() + ": is a FIFO, not a regular file");
}

TEST_F(ConfigFile, DirectoryIsNamedAsSuch) {
  EXPECT_EQ(error_of(dir_), dir_.string() + ": is a directory, not a regular file");
}

TEST_F(ConfigFile, OversizedFileIsRefused) {
  const fs::path big = dir_ / "big.toml";
  {
    std::ofstream out(big);
    out << kDevice;
    out << std::string(kMaxConfigFileBytes, '#') << "\n";
  }
  const std::string msg = error_of(big);
  EXPECT_EQ(msg.rfind(big.string() + ": is ", 0), 0u) << msg;
  EXPECT_NE(msg.find("1 MiB"), std::string::npos) << msg;
}

TEST_F(ConfigFile, FileAtTheLimitLoads) {
  const fs::path f = dir_ / "ok.toml";
  {
    std::ofstream out(f);
    out << kDevice << "#";
    out << std::string(kMaxConfigFileBytes - kDevice.size() - 2, 'x') << "\n";
  }
  ASSERT_EQ(fs::file_size(f), kMaxConfigFileBytes);
  EXPECT_EQ(load_config(f).devices.size(), 1u);
}

TEST_F(ConfigFile, MissingFileSaysWhy) {
  const std::string msg = error_of(dir_ / "absent.toml");
  EXPECT_EQ(msg, "cannot read config file " + (dir_ / "absent.toml").string() +
                     ": No such file or directory");
}

TEST_F(ConfigFile, SymlinkToAFileLoads) {
  std::ofstream(dir_ / "real.toml") << kDevice;
  fs::create_symlink(dir_ / "real.toml", dir_ / "link.toml");
  EXPECT_EQ(load_config(dir_ / "link.toml").devices.at(0).id, "w1");
}

TEST_F(ConfigFile, SymlinkLoopInAPathKeyNamesTheKey) {
  const fs::path loop = dir_ / "loop";
  fs::create_symlink(loop, loop);  // loop -> loop
  const std::string q = "\"" + loop.string() + "\"";
  struct Case {
    std::string toml;
    std::string key;
  };
  const Case cases[] = {
      {"[model]\nweights = " + q + "\n" + kDevice, "model.weights"},
      {"[bus]\ncurve_secret_key = " + q + "\n" + kDevice, "bus.curve_secret_key"},
      {"[[devices]]\nid = \"r\"\nadapter = \"replay\"\npath = " + q + "\n", "devices[0].path"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    try {
      load_config_string(c.toml);
      FAIL() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.key + " = " + q + ": Too many levels of symbolic links");
    }
  }
  // Also through load_config, where the file name comes first.
  const fs::path f = dir_ / "c.toml";
  std::ofstream(f) << cases[0].toml;
  EXPECT_EQ(error_of(f),
            f.string() + ": model.weights = " + q + ": Too many levels of symbolic links");
}

TEST_F(ConfigFile, ConfigPathThatIsASymlinkLoopIsNamed) {
  const fs::path loop = dir_ / "self.toml";
  fs::create_symlink(loop, loop);
  const std::string msg = error_of(loop);
  EXPECT_EQ(msg,
            "cannot read config file " + loop.string() + ": Too many levels of symbolic links");
}

}  // namespace
}  // namespace primus
