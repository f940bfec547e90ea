#pragma once
// `primus-model simulate`: the built-in simulator's output (adapters/sim_source.h, the same
// generator a `sim` device runs) as a labelled CSV recording, for `primusctl captures import` and
// `primusctl evaluate`: t (s, device clock), acc_x..z (m/s²), qw,qx,qy,qz, label ("null" idle).
// Deterministic for a seed. `--gestures wave,circle` performs only those (in that order, as a
// `sim` device's `gestures` key does: e.g. the demo's right-wrist).
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace primus::evaluation {

struct SimulateCommandOptions {
  double seconds = 300;
  double rate_hz = 100;
  std::uint64_t seed = 1;
  double activity_s = 0;  ///< SimTiming::activity_s: 0 = single gestures, > 0 = activities
  std::vector<std::string> gestures;  ///< which gestures (a sim device's `gestures`); empty: all
  std::string out = "-";              ///< "-" = stdout

  void add_to(CLI::App& cmd);
};

/// Exit status: 0 written, 1 the output could not be written, 2 an unknown gesture.
int run_simulate(const SimulateCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace primus::evaluation
