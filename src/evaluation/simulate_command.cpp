#include "src/evaluation/simulate_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <ostream>

#include "adapters/sim_source.h"
#include "src/ctl/exit_status.h"

namespace primus::evaluation {

void SimulateCommandOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--seconds", seconds, "length of the recording")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  cmd.add_option("--rate", rate_hz, "sample rate (Hz)")
      ->check(CLI::Range(10.0, 1000.0))
      ->capture_default_str();
  cmd.add_option("--seed", seed, "simulator seed (0 = derived from the device id)")
      ->capture_default_str();
  cmd.add_option("--activity-seconds", activity_s,
                 "0: single gestures (1-2 s); > 0: each gesture repeated as an activity of about "
                 "this many seconds (x0.75-1.25), between rests of 2-5 s")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  cmd.add_option("--gestures", gestures,
                 "only these gestures, comma-separated (default: all: wave, circle, shake, tap)")
      ->delimiter(',')
      ->check(CLI::IsMember(adapters::sim_gesture_names()));
  cmd.add_option("--out", out, "CSV file (- = stdout)")->capture_default_str();
}

int run_simulate(const SimulateCommandOptions& o, std::ostream& out, std::ostream& err) {
  const auto& known = adapters::sim_gesture_names();
  for (const auto& g : o.gestures)
    if (std::find(known.begin(), known.end(), g) == known.end()) {
      err << "simulate: unknown gesture \"" << g << "\" (wave, circle, shake, tap)\n";
      return ctl::kExitUsage;
    }
  DeviceConfig d;
  d.id = "sim";
  d.adapter = AdapterKind::kSim;
  d.rate_hz = o.rate_hz;
  d.seed = o.seed;
  d.gestures = o.gestures;
  std::ofstream file;
  std::ostream* os = &out;
  if (o.out != "-") {
    file.open(o.out, std::ios::trunc);
    if (!file) {
      err << "simulate: cannot write " << o.out << "\n";
      return ctl::kExitFailed;
    }
    os = &file;
  }
  adapters::SimDevice sim(d, 0, adapters::SimTiming{o.activity_s});
  *os << "t,acc_x,acc_y,acc_z,qw,qx,qy,qz,label\n";
  const auto n = static_cast<long>(std::llround(o.seconds * o.rate_hz));
  std::int64_t t0 = 0;
  std::string line;
  for (long i = 0; i < n; ++i) {
    const Sample s = sim.next();
    if (i == 0) t0 = s.t_device_us;
    line = fmt::format("{:.6f},{:.6g},{:.6g},{:.6g},{:.7g},{:.7g},{:.7g},{:.7g},{}\n",
                       static_cast<double>(s.t_device_us - t0) / 1e6, s.acc[0], s.acc[1], s.acc[2],
                       s.quat[0], s.quat[1], s.quat[2], s.quat[3], sim.current_label());
    *os << line;
  }
  os->flush();
  if (!*os) {
    err << "simulate: write failed\n";
    return ctl::kExitFailed;
  }
  return ctl::kExitOk;
}

}  // namespace primus::evaluation
