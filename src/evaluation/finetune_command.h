#pragma once
// `primus-model finetune`: fine-tunes a model on the captures of a store, offline, with the
// daemon's own dataset cuts, trainer and recipe ([training] of --config, with --training
// overrides), and writes a classifier file that primusd (model.weights, or a registry version)
// and `primusctl evaluate --weights` load. Reports the validation figures, window and event
// (src/evaluation/evaluate.h on the validation captures), and the seconds it took.
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace primus::evaluation {

struct FinetuneCommandOptions {
  std::string db;      ///< capture store; empty: capture.database of --config
  std::string config;  ///< daemon config: [window], [events], [model], [training]
  std::string base;    ///< classifier or encoder file; empty: model.weights, else random
  std::string mode;    ///< head | full | staged; empty: training.mode
  std::string out;     ///< the classifier file to write
  std::vector<std::string> labels;    ///< only captures of these labels (empty: all)
  std::vector<std::string> devices;   ///< only captures of these devices (empty: all)
  std::vector<std::string> training;  ///< [training] KEY=VALUE overrides
  bool json = false;

  void add_to(CLI::App& cmd);
};

/// Exit status: 0 written, 1 failed (no data, bad base model, torch error), 2 bad options.
int run_finetune(const FinetuneCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace primus::evaluation
