#include "src/evaluation/finetune_command.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

#include "src/capture/capture_store.h"
#include "src/config/config.h"
#include "src/ctl/config_overrides.h"
#include "src/ctl/exit_status.h"
#include "src/evaluation/evaluate.h"
#include "src/model/classifier.h"
#include "src/model/model_loader.h"
#include "src/training/dataset.h"
#include "src/training/trainer.h"

namespace primus::evaluation {

void FinetuneCommandOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--db", db, "capture database (default: capture.database of --config)");
  cmd.add_option("-c,--config", config, "daemon config: [window], [events], [model], [training]");
  cmd.add_option("--base", base,
                 "classifier or encoder file to start from (default: model.weights, else random)");
  cmd.add_option("--mode", mode, "head | full | staged (default: training.mode)")
      ->check(CLI::IsMember({"head", "full", "staged"}));
  cmd.add_option("--out", out, "classifier file to write (.safetensors)")->required();
  cmd.add_option("--label", labels, "only captures of this label (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--device", devices, "only captures of this device (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--training", training, "[training] key KEY=VALUE, e.g. --training epochs=15")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_flag("--json", json, "print the report as one JSON document");
}

namespace {

Config load(const FinetuneCommandOptions& o) {
  std::filesystem::path base;
  toml::table root = ctl::read_config_table(o.config, base);
  if (root["training"].as_table() == nullptr) root.insert_or_assign("training", toml::table{});
  auto& t = *root["training"].as_table();
  if (!o.mode.empty()) t.insert_or_assign("mode", o.mode);
  for (const auto& kv : o.training) ctl::apply_override(t, kv, "--training");
  if (root["devices"].as_array() == nullptr) {
    toml::array devs;
    devs.push_back(toml::table{{"id", "offline"}, {"adapter", "sim"}});
    root.insert_or_assign("devices", devs);
  }
  std::ostringstream os;
  os << root;
  return load_config_string(os.str(), base);
}

}  // namespace

int run_finetune(const FinetuneCommandOptions& o, std::ostream& out, std::ostream& err) {
  Config cfg;
  try {
    cfg = load(o);
  } catch (const std::exception& e) {
    err << "finetune: " << e.what() << "\n";
    return ctl::kExitUsage;
  }
  try {
    const auto db = o.db.empty() ? capture_database(cfg) : std::filesystem::path(o.db);
    if (!std::filesystem::exists(db))
      throw std::runtime_error("no capture store at " + db.string());
    capture::StoreOptions so;
    so.read_only = true;
    capture::CaptureStore store(db, so);
    std::vector<capture::CaptureRecord> captures;
    const std::set<std::string> labels(o.labels.begin(), o.labels.end());
    const std::set<std::string> devices(o.devices.begin(), o.devices.end());
    store.for_each({}, [&](const capture::CaptureRecord& r) {
      if ((labels.empty() || labels.count(r.label)) && (devices.empty() || devices.count(r.device)))
        captures.push_back(r);
    });
    training::set_training_threads(cfg.training.threads);
    if (!o.base.empty()) cfg.model.weights = o.base;
    const auto base = model::load_model(cfg);
    const auto data =
        training::build_dataset(captures, base->info().labels, training::dataset_options(cfg));
    const auto opt = training::finetune_options(cfg.training);
    auto res = training::finetune(*base, data, opt, [&](const training::Progress& p) {
      err << fmt::format(
          "finetune: epoch {}/{} ({}): train loss {:.4f}, val loss {:.4f}, val "
          "macro-F1 {:.4f}, {:.1f} s\n",
          p.epoch, p.epochs, p.phase, p.train_loss, p.val_loss, p.val_macro_f1, p.seconds);
    });
    const std::set<std::int64_t> val_ids(data.val.capture_id.begin(), data.val.capture_id.end());
    std::vector<capture::CaptureRecord> val_caps;
    for (const auto& c : captures)
      if (val_ids.count(c.id) != 0) val_caps.push_back(c);
    auto ev = evaluate_captures(
        *res.model, val_caps, cfg,
        training::nearby_gestures(captures, val_caps, cfg.window.length, cfg.events.null_label));
    // Calibrated per class like the daemon's fine-tune, so the file behaves as a daemon's would.
    nlohmann::json calibration = nullptr;
    try {
      calibration = events::to_json(calibrate_candidate(*res.model, ev, cfg.events));
    } catch (const std::exception& e) {
      err << "finetune: calibration failed, the model keeps the [events] values: " << e.what()
          << "\n";
    }
    res.model->set_version("finetune-" + std::string(to_string(cfg.training.mode)));
    res.model->save(o.out);
    nlohmann::json j{
        {"out", o.out},
        {"mode", to_string(cfg.training.mode)},
        {"captures", captures.size()},
        {"labels", data.labels},
        {"train_windows", data.train.size()},
        {"val_windows", data.val.size()},
        {"epochs_run", res.epochs_run},
        {"best_epoch", res.best_epoch},
        {"seconds", res.seconds},
        {"val", training::to_json(res.val, data.labels)},
        {"val_events", dataio::to_json(ev.events)},
        {"negatives",
         {{"train_windows", data.train_negatives}, {"val_windows", data.val_negatives}}},
        {"partials", {{"train_windows", data.train_partials}, {"val_windows", data.val_partials}}},
        {"calibration", calibration}};
    if (o.json) {
      out << j.dump() << "\n";
    } else {
      out << fmt::format(
          "wrote {} ({} mode, {} labels): {} train / {} val windows, {} epochs (best {}), "
          "{:.1f} s\nvalidation: window accuracy {:.3f}, macro-F1 {:.3f}; event F1 {:.3f} "
          "({} of {} segments, {} false, {} fragments)\n",
          o.out, to_string(cfg.training.mode), data.labels.size(), data.train.size(),
          data.val.size(), res.epochs_run, res.best_epoch, res.seconds, res.val.accuracy,
          res.val.macro_f1, ev.events.f1, ev.events.detected, ev.events.segments,
          ev.events.false_events, ev.events.fragments);
    }
    return ctl::kExitOk;
  } catch (const std::exception& e) {
    err << "finetune: " << e.what() << "\n";
    return ctl::kExitFailed;
  }
}

}  // namespace primus::evaluation
