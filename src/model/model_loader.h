#pragma once
// Loading a model for serving: a classifier file, a converted PRIMUS encoder (fresh head for the
// configured labels) or random weights, checked against the configured window and warmed up at
// every batch shape inference uses. Used by the inference engine at start-up, by the model swap
// (SIGHUP) and by the training service (activation of the base model).
//
// Threads: all functions run on the calling thread and touch only the model they build; torch's
// intra-op thread setting is per thread (model::set_inference_threads), so call these on the
// thread that will run the model, or set it there first.
#include <memory>

#include "src/config/config.h"

namespace primus::model {

class Classifier;

/// Batches on the LibTorch modules run at a few fixed shapes so that each is warmed up once: exact
/// sizes 1..8, then the next power of two, capped at max_batch. Padding rows are zeros and their
/// outputs are ignored. The native path runs every batch at its own size.
[[nodiscard]] int padded_batch(int batch, int max_batch) noexcept;

/// Load and warm the model `cfg` names (model.weights, or random weights with a loud warning
/// when empty) on model.device. Throws std::runtime_error naming the file and the problem.
[[nodiscard]] std::unique_ptr<Classifier> load_model(const Config& cfg);

/// Make the native path's weight copy (Classifier::prepare) and warm up: with the native path one
/// small batch (it has no per-shape state and runs unpadded), with the modules once at every
/// shape padded_batch() gives for 1..max_batch.
void warm_up(Classifier& m, int max_batch, int length);

}  // namespace primus::model
