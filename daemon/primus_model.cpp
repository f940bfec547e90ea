// primus-model: the model tools that need LibTorch, kept out of primusctl so that primusctl
// starts in milliseconds. `primusctl embed ...` and `primusctl model info ...` run this program.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "src/core/version.h"
#include "src/evaluation/evaluate_command.h"
#include "src/evaluation/finetune_command.h"
#include "src/evaluation/simulate_command.h"
#include "src/model/model_cli.h"

int main(int argc, char** argv) {
  // stdout carries only what was asked for: every log line goes to stderr.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "primus-model", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  spdlog::set_pattern("primus-model: %l: %v");
  CLI::App app{"primus-model: PRIMUS weight-file tools (LibTorch)"};
  app.set_version_flag("-V,--version",
                       std::string("primus-model ") + std::string(primus::version()));
  app.require_subcommand(1);

  primus::model::EmbedOptions em;
  std::string em_output = "mmcl";
  auto* embed = app.add_subcommand(
      "embed", "run the PRIMUS encoder on one window CSV (6 columns, T >= 123 rows)");
  embed->add_option("--weights", em.weights, "weight file (.safetensors)")->required();
  embed->add_option("--in", em.input, "window CSV: acc x,y,z (m/s2), gyro x,y,z (rad/s)")
      ->required();
  embed->add_option("--output", em_output, "which vector to print")
      ->check(CLI::IsMember({"emb", "ssl", "mmcl"}))
      ->capture_default_str();
  embed->add_option("--device", em.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  embed->add_flag("--json", em.json, "print {\"output\", \"vector\"} as one line of JSON");

  auto* model = app.add_subcommand("model", "inspect model files");
  model->require_subcommand(1);
  std::string info_path;
  auto* info = model->add_subcommand("info", "print what a weight file holds");
  info->add_option("FILE", info_path, "weight file (.safetensors)")->required();
  bool info_json = false;
  info->add_flag("--json", info_json, "print what the file holds as one line of JSON");

  primus::evaluation::EvaluateCommandOptions ev;
  auto* evaluate = app.add_subcommand(
      "evaluate", "replay a labelled recording through a model: window and event figures");
  ev.add_to(*evaluate);
  primus::evaluation::FinetuneCommandOptions ft;
  auto* finetune = app.add_subcommand(
      "finetune", "fine-tune a model on a capture store, offline, and write a classifier file");
  ft.add_to(*finetune);
  primus::evaluation::SimulateCommandOptions sm;
  auto* simulate = app.add_subcommand(
      "simulate", "write the built-in simulator's gestures as a labelled CSV recording");
  sm.add_to(*simulate);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, as primusctl's (src/ctl/exit_status.h)
  }
  if (evaluate->parsed()) return primus::evaluation::run_evaluate(ev, std::cout, std::cerr);
  if (finetune->parsed()) return primus::evaluation::run_finetune(ft, std::cout, std::cerr);
  if (simulate->parsed()) return primus::evaluation::run_simulate(sm, std::cout, std::cerr);
  if (embed->parsed()) {
    em.output = em_output == "emb"   ? primus::EmbeddingChoice::kEmb
                : em_output == "ssl" ? primus::EmbeddingChoice::kSsl
                                     : primus::EmbeddingChoice::kMmcl;
    return primus::model::run_embed(em, std::cout, std::cerr);
  }
  if (info->parsed())
    return primus::model::run_model_info(info_path, std::cout, std::cerr, info_json);
  return 0;
}
