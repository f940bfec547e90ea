#pragma once
// `primus-model simulate`: the built-in simulator's output (adapters/sim_source.h, the same
// generator a `sim` device runs) as a labelled CSV recording, for `primusctl captures import` and
// `primusctl evaluate`: t (s, device clock), acc_x..z (m/s²), qw,qx,qy,qz, label ("null" idle).
// Deterministic for a seed.
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

namespace primus::evaluation {

struct SimulateCommandOptions {
  double seconds = 300;
  double rate_hz = 100;
  std::uint64_t seed = 1;
  double activity_s = 0;  ///< SimTiming::activity_s: 0 = single gestures, > 0 = activities
  std::string out = "-";  ///< "-" = stdout

  void add_to(CLI::App& cmd);
};

/// Exit status: 0 written, 1 the output could not be written.
int run_simulate(const SimulateCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace primus::evaluation
