#include "src/app/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace primus::app {

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  struct stat st {};
  if (fstat(fileno(stderr), &st) != 0) return false;
  const std::string want = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  return want == js;
}

void setup_logging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_journal()) {
    auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("primusd");
    logger = std::make_shared<spdlog::logger>("primusd", sink);
    logger->set_pattern("%v");
  } else {
    logger = spdlog::stderr_color_mt("primusd");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%t] %v");
  }
  spdlog::set_default_logger(logger);
  set_log_level(level);
  spdlog::flush_on(spdlog::level::warn);
}

void set_log_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

}  // namespace primus::app
