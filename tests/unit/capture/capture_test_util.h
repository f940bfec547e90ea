#pragma once
// Helpers shared by the capture unit tests: a temporary directory and synthetic records.
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "src/capture/capture_record.h"

namespace primus::capture::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/primus-capture-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

/// A valid record of n samples at 50 Hz whose values depend on seed (no two seeds alike).
inline CaptureRecord make_record(std::int64_t n, const std::string& label = "wave",
                                 const std::string& device = "wrist1", int seed = 1) {
  CaptureRecord r;
  r.device = device;
  r.label = label;
  r.rate_hz = 50.0;
  r.source_rate_hz = 119.0;
  r.t_start_host_ns = 1'000'000'000LL * seed;
  r.t_end_host_ns = r.t_start_host_ns + (n - 1) * 20'000'000LL;
  r.t_start_device_us = 5'000'000LL + seed;
  r.t_end_device_us = r.t_start_device_us + (n - 1) * 20'000LL;
  r.conversion = R"({"acc_unit":"g","gyro_unit":"deg/s"})";
  r.data.resize(static_cast<std::size_t>(6 * n));
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    r.data[i] = static_cast<float>(std::sin(0.01 * static_cast<double>(i) + seed) * 9.81);
  }
  return r;
}

}  // namespace primus::capture::test
