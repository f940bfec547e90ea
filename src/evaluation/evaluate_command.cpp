#include "src/evaluation/evaluate_command.h"

#include <fmt/format.h>

#include <ostream>

#include "src/ctl/exit_status.h"
#include "src/evaluation/evaluate.h"
#include "src/model/classifier.h"
#include "src/training/registry.h"

namespace primus::evaluation {

void EvaluateCommandOptions::add_to(CLI::App& cmd) {
  rec.add_to(cmd);
  auto* w = cmd.add_option("--weights", weights, "classifier file (.safetensors)");
  auto* v = cmd.add_option("--version", version,
                           "model version in the registry of --config (0 = the active one)");
  auto* r = cmd.add_flag("--random", random, "fresh random weights (model.labels, model.seed)");
  w->excludes(v)->excludes(r);
  v->excludes(r);
  cmd.add_option("--tolerance", tolerance_s,
                 "seconds an event's onset may lie outside its segment and still match")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--batch", batch, "windows per model call")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd.add_option("--threads", threads, "CPU threads for the model")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd.add_flag("--json", json, "print the report as one JSON document");
  cmd.add_flag("--list-events", list_events, "also list every event and what it matched");
}

int run_evaluate(const EvaluateCommandOptions& o, std::ostream& out, std::ostream& err) {
  EvaluateOptions eo;
  try {
    auto r = ctl::resolve(o.rec);
    eo.cfg = std::move(r.cfg);
    eo.dev = std::move(r.dev);
    eo.format = r.format;
    eo.labels = std::move(r.labels);
  } catch (const std::exception& e) {
    err << "evaluate: " << e.what() << "\n";
    return ctl::kExitUsage;
  }
  if (o.weights.empty() && o.version < 0 && !o.random) {
    err << "evaluate: give --weights FILE, --version N or --random\n";
    return ctl::kExitUsage;
  }
  eo.match.tolerance_s = o.tolerance_s;
  eo.batch = o.batch;
  try {
    model::set_inference_threads(o.threads);
    std::unique_ptr<model::Classifier> m;
    if (!o.weights.empty()) {
      m = model::Classifier::load(o.weights, "cpu");
    } else if (o.random) {
      model::ModelInfo info;
      info.labels = eo.cfg.model.labels;
      info.embedding = eo.cfg.model.embedding;
      info.window_length = eo.cfg.window.length;
      info.rate_hz = eo.cfg.window.rate_hz;
      info.version = "random";
      m = model::Classifier::random(info, eo.cfg.model.seed, "cpu");
    } else {
      const auto dir = model_registry_dir(eo.cfg);
      if (!std::filesystem::is_directory(dir))
        throw std::runtime_error("no model registry at " + dir.string() +
                                 " (training.registry of --config)");
      training::ModelRegistry reg(dir);
      const int v = o.version == 0 ? reg.active() : o.version;
      if (v == 0)
        throw std::runtime_error("the registry at " + dir.string() + " has no active version");
      if (!reg.get(v))
        throw std::runtime_error(fmt::format("no version {} in {}", v, dir.string()));
      m = model::Classifier::load(reg.model_path(v).string(), "cpu");
      m->set_version("v" + std::to_string(v));
    }
    const auto report = evaluate_recording(*m, eo);
    if (o.json) {
      auto j = to_json(report);
      if (!o.list_events) j.erase("event_list");
      out << j.dump() << "\n";
    } else {
      out << to_text(report);
      if (o.list_events) {
        out << fmt::format("\n{:>9} {:>9} {:>9}  {:<16} {:>6}  {}\n", "onset_s", "offset_s",
                           "message_s", "label", "conf", "outcome");
        for (const auto& e : report.event_rows)
          out << fmt::format("{:>9.2f} {:>9.2f} {:>9.2f}  {:<16} {:>6.3f}  {}\n", e.onset_s,
                             e.offset_s, e.first_message_s, e.label, e.confidence,
                             dataio::to_string(e.outcome));
      }
    }
    return ctl::kExitOk;
  } catch (const std::exception& e) {
    err << "evaluate: " << e.what() << "\n";
    return ctl::kExitFailed;
  }
}

}  // namespace primus::evaluation
