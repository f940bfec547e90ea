#pragma once
// The captures the crash writer appends, derived from a number k alone, so the test can rebuild
// the exact record an acknowledgement names and compare it bit for bit.
#include <cstdint>
#include <string>

#include "src/capture/capture_record.h"

namespace primus::capture::crash {

inline CaptureRecord make_crash_record(std::uint64_t k) {
  CaptureRecord r;
  const auto n = static_cast<std::int64_t>(50 + (k * 37) % 201);  // 1 to 5 s at 50 Hz
  r.device = "dev" + std::to_string(k % 3);
  r.label = "gesture" + std::to_string(k % 5);
  r.rate_hz = 50.0;
  r.source_rate_hz = 100.0;
  r.t_start_host_ns = static_cast<std::int64_t>(k) * 1'000'000'000;
  r.t_end_host_ns = r.t_start_host_ns + (n - 1) * 20'000'000;
  r.t_start_device_us = static_cast<std::int64_t>(k) * 1'000'000;
  r.t_end_device_us = r.t_start_device_us + (n - 1) * 20'000;
  r.conversion = R"({"acc_unit":"g","gyro_unit":"deg/s","k":)" + std::to_string(k) + "}";
  r.data.resize(static_cast<std::size_t>(6 * n));
  std::uint64_t x = k * 0x9E3779B97F4A7C15ull + 1;
  for (auto& v : r.data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = static_cast<float>(static_cast<double>(x >> 11) / 9007199254740992.0 * 40.0 - 20.0);
  }
  return r;
}

}  // namespace primus::capture::crash
