#include "src/model/model_loader.h"

#include <spdlog/spdlog.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "src/core/window.h"
#include "src/model/classifier.h"
#include "src/model/model_file.h"

namespace primus::model {

int padded_batch(int b, int max_batch) noexcept {
  if (b <= 8) return b;
  int p = 16;
  while (p < b) p *= 2;
  return std::min(p, max_batch);
}

std::unique_ptr<Classifier> load_model(const Config& cfg) {
  std::unique_ptr<Classifier> clf;
  ModelInfo info_from_config;
  info_from_config.labels = cfg.model.labels;
  info_from_config.embedding = cfg.model.embedding;
  info_from_config.window_length = cfg.window.length;
  info_from_config.rate_hz = cfg.window.rate_hz;
  info_from_config.head = "linear";
  if (cfg.model.weights.empty()) {
    auto info = info_from_config;
    info.version = "random-seed" + std::to_string(cfg.model.seed);
    clf = Classifier::random(info, cfg.model.seed, cfg.model.device);
    spdlog::warn(
        "model.weights is not set: running the PRIMUS encoder with RANDOM weights (seed {}). "
        "Events are meaningless until you configure a converted weight file.",
        cfg.model.seed);
  } else if (open_model_file(cfg.model.weights).kind == ModelFileKind::kEncoder) {
    // A converted PRIMUS checkpoint: pretrained encoder, head for the configured labels.
    auto info = info_from_config;
    info.version = "encoder:" + std::filesystem::path(cfg.model.weights).filename().string();
    clf = Classifier::from_encoder(cfg.model.weights, info, cfg.model.seed, cfg.model.device);
    spdlog::warn(
        "{} holds only the PRIMUS encoder: its classifier head for {} is untrained (seed {}); "
        "teach it gestures (fine-tuning) or configure a classifier file",
        cfg.model.weights, fmt::format("{}", fmt::join(info.labels, ", ")), cfg.model.seed);
  } else {
    clf = Classifier::load(cfg.model.weights, cfg.model.device);
  }
  const auto& info = clf->info();
  if (info.window_length != cfg.window.length)
    spdlog::warn("model {} was trained on windows of {} samples; window.length is {}", info.version,
                 info.window_length, cfg.window.length);
  if (info.rate_hz != cfg.window.rate_hz)
    spdlog::warn("model {} was trained at {} Hz; window.rate_hz is {}", info.version, info.rate_hz,
                 cfg.window.rate_hz);
  if (std::find(info.labels.begin(), info.labels.end(), cfg.events.null_label) == info.labels.end())
    spdlog::warn("model {} has no class \"{}\" (events.null_label): every confident window votes",
                 info.version, cfg.events.null_label);
  clf->set_backend(cfg.model.backend);
  warm_up(*clf, cfg.batcher.max_batch, cfg.window.length);
  return clf;
}

void warm_up(Classifier& m, int max_batch, int length) {
  m.prepare();
  if (m.shared()) {
    // The native path has no per-shape state; one small call loads the GEMM kernels. (Each
    // inference instance's workspace grows on its first batches.)
    const int b = std::min(max_batch, 2);
    std::vector<float> x(static_cast<std::size_t>(b) * kChannels * length, 0.0f);
    std::vector<float> p(static_cast<std::size_t>(b) * m.num_classes());
    m.predict(x.data(), b, length, p.data());
    return;
  }
  std::vector<float> x(static_cast<std::size_t>(max_batch) * kChannels * length, 0.0f);
  std::vector<float> p(static_cast<std::size_t>(max_batch) * m.num_classes());
  int last = 0;
  for (int b = 1; b <= max_batch; ++b) {
    const int shape = padded_batch(b, max_batch);
    if (shape == last) continue;
    m.predict(x.data(), shape, length, p.data());
    last = shape;
  }
}

}  // namespace primus::model
