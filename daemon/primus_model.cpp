// primus-model: the model tools that need LibTorch, kept out of primusctl so that primusctl
// starts in milliseconds. `primusctl embed ...` and `primusctl model info ...` run this program.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "src/core/version.h"
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

  auto* model = app.add_subcommand("model", "inspect model files");
  model->require_subcommand(1);
  std::string info_path;
  auto* info = model->add_subcommand("info", "print what a weight file holds");
  info->add_option("FILE", info_path, "weight file (.safetensors)")->required();

  CLI11_PARSE(app, argc, argv);
  if (embed->parsed()) {
    em.output = em_output == "emb"   ? primus::EmbeddingChoice::kEmb
                : em_output == "ssl" ? primus::EmbeddingChoice::kSsl
                                     : primus::EmbeddingChoice::kMmcl;
    return primus::model::run_embed(em, std::cout, std::cerr);
  }
  if (info->parsed()) return primus::model::run_model_info(info_path, std::cout, std::cerr);
  return 0;
}
