#pragma once
// `primus-model evaluate` (run by `primusctl evaluate`): replays a labelled recording through a
// model and prints window and event figures (src/evaluation/evaluate.h, docs/training.md).
//
// The model: --weights FILE (a classifier file), --version N (registry version of --config's
// training.registry; 0 = the active one), or --random (fresh weights from model.seed, for
// testing the chain). Events: the [events] section of --config with --events overrides.
#include <iosfwd>
#include <string>

#include "src/ctl/recording_options.h"

namespace primus::evaluation {

struct EvaluateCommandOptions {
  ctl::RecordingOptions rec;
  std::string weights;
  int version = -1;  ///< -1: not given
  bool random = false;
  double tolerance_s = 1.0;
  int batch = 64;
  int threads = 1;
  bool json = false;
  bool list_events = false;  ///< also print every event with its outcome

  void add_to(CLI::App& cmd);
};

/// Exit status: 0 evaluated, 1 the recording or model could not be used, 2 bad options.
int run_evaluate(const EvaluateCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace primus::evaluation
