#pragma once
// Helpers of the dataio tests: a temporary directory, a labelled CSV recording written to disk,
// and the default config.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::dataio::test {

using capture::test::TempDir;

/// One labelled span of a synthetic recording (seconds).
struct Span {
  std::string label;
  double from_s, to_s;
};

/// A CSV at `rate_hz` for `seconds`: t, acc_x..z (m/s²), gyr_x..z (rad/s), label. During a span
/// acc_x = 5 + the span's index (so the label can be read off the data), otherwise acc_x = 0;
/// gravity on z and a small sine on the gyro everywhere.
inline void write_csv(const std::string& path, double rate_hz, double seconds,
                      const std::vector<Span>& spans, const std::string& extra_header = "",
                      const std::string& extra_cell = "") {
  std::ofstream f(path);
  f << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z,label" << extra_header << "\n";
  const auto n = static_cast<long>(std::llround(seconds * rate_hz));
  for (long i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    std::string label;
    double ax = 0;
    for (std::size_t k = 0; k < spans.size(); ++k)
      if (t >= spans[k].from_s && t < spans[k].to_s) label = spans[k].label, ax = 5.0 + k;
    f << t << "," << ax << ",0.1,9.81," << 0.2 * std::sin(t) << ",0,0," << label << extra_cell
      << "\n";
  }
}

/// The defaults of every section (the loader needs one device; it is dropped again).
inline Config default_config() {
  auto c = load_config_string("[[devices]]\nid = \"unused\"\nadapter = \"sim\"\n");
  c.devices.clear();
  return c;
}

inline DeviceConfig replay_device(const std::string& path, const std::string& id = "wrist") {
  DeviceConfig d;
  d.id = id;
  d.adapter = AdapterKind::kReplay;
  d.path = path;
  return d;
}

}  // namespace primus::dataio::test
