// primusd: parse argv, load the config, run the daemon. All logic lives in the library.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "src/app/daemon.h"
#include "src/app/logging.h"
#include "src/config/config.h"
#include "src/core/version.h"

namespace {
std::string default_config() {
  if (const char* dir = std::getenv("CONFIGURATION_DIRECTORY"))
    return std::string(dir) + "/primusd.toml";
  return "/etc/primusd/primusd.toml";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"primusd: real-time IMU gesture daemon (PRIMUS encoder, ZeroMQ events)"};
  std::string config = default_config();
  std::string check;
  std::string log_level;
  app.add_option("-c,--config", config, "configuration file")->capture_default_str();
  app.add_option("--check-config", check, "validate FILE and exit (0 = valid)");
  app.add_option("--log-level", log_level, "override daemon.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.set_version_flag("-V,--version", std::string("primusd ") + std::string(primus::version()));
  CLI11_PARSE(app, argc, argv);

  if (!check.empty()) {
    try {
      const auto cfg = primus::load_config(check);
      std::cout << check << ": OK (" << cfg.devices.size() << " device(s))\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }
  primus::Config cfg;
  try {
    cfg = primus::load_config(config);
  } catch (const std::exception& e) {
    std::cerr << "primusd: " << e.what() << "\n";
    return 1;
  }
  primus::app::setup_logging(log_level.empty() ? cfg.daemon.log_level : log_level);
  if (!log_level.empty()) cfg.daemon.log_level = log_level;
  try {
    primus::app::Daemon daemon(std::move(cfg));
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    spdlog::shutdown();
    return 1;
  }
}
