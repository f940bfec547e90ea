#pragma once
// Fine-tuning a PRIMUS classifier on labelled windows (no LibTorch in this header).
//
// Recipe (docs/training.md, after PRIMUS.md §2): cross-entropy, AdamW, per-step linear warm-up
// for warmup_fraction of the steps then cosine decay to 0, early stopping when validation
// macro-F1 has not improved for `patience` epochs; the weights of the best epoch are returned.
// Modes:
//   head    the encoder is frozen (no gradients; without augmentation its embeddings are computed
//           once and cached), only the head trains, at lr.
//   full    encoder (encoder_lr) and head (lr) train together from the first step.
//   staged  head_epochs of `head`, then `full` for the remaining epochs with a fresh schedule.
// New labels grow the head: rows of classes the base model knows are copied, new rows are drawn
// fresh from the seed. Everything random (init of new rows, batch order, class-balanced sampling,
// augmentation) comes from `seed`, so a run is reproducible on one machine and thread count.
//
// Threads: finetune()/evaluate() run on the calling thread (the trainer thread) and use torch
// with the intra-op thread count set by set_training_threads() on that thread. `base` must not be
// used by any other thread meanwhile (the trainer owns its own copy, never the live model).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/training/dataset.h"
#include "src/training/metrics.h"

namespace primus::model {
class Classifier;
}

namespace primus::training {

struct FinetuneOptions {
  FinetuneMode mode = FinetuneMode::kStaged;
  int epochs = 20;
  int head_epochs = 5;
  int batch_size = 32;
  double lr = 1e-2;
  double encoder_lr = 1e-3;
  double weight_decay = 1e-4;
  double warmup_fraction = 0.1;
  int patience = 5;
  std::vector<std::string> augment{"scale"};  ///< scale | permute | rotate | noise
  bool balance = true;
  std::uint64_t seed = 1;
};

[[nodiscard]] FinetuneOptions finetune_options(const TrainingConfig& t);

struct Progress {
  int epoch = 0;  ///< 1-based, counted over both phases
  int epochs = 0;
  std::string phase;  ///< "head" | "full"
  double train_loss = 0;
  double val_loss = 0;
  double val_macro_f1 = 0;
  double seconds = 0;  ///< since the start
};

struct FinetuneResult {
  std::unique_ptr<model::Classifier> model;  ///< best epoch's weights, labels = data.labels
  EvalMetrics val;                           ///< of `model` on data.val
  int epochs_run = 0;
  int best_epoch = 0;
  double seconds = 0;
  bool cancelled = false;
  FinetuneResult();
  FinetuneResult(FinetuneResult&&) noexcept;
  FinetuneResult& operator=(FinetuneResult&&) noexcept;
  ~FinetuneResult();
};

/// torch::set_num_threads on the calling thread (OpenMP keeps it per thread). n >= 1.
void set_training_threads(int n);

/// Trains a copy of `base` (left untouched) on data.train, validating on data.val (on data.train
/// when val is empty). Throws std::invalid_argument when there is nothing to train on, and
/// std::runtime_error on torch failures. `cancel` (may be null) is polled between batches.
[[nodiscard]] FinetuneResult finetune(const model::Classifier& base, const Dataset& data,
                                      const FinetuneOptions& opt,
                                      const std::function<void(const Progress&)>& on_progress = {},
                                      const std::atomic<bool>* cancel = nullptr);

/// Scores `m` on `set` whose classes are `labels`; m's classes are matched to them by name
/// (a class m does not know is never predicted correctly). Batches of 64.
[[nodiscard]] EvalMetrics evaluate(model::Classifier& m, const WindowSet& set,
                                   const std::vector<std::string>& labels);

}  // namespace primus::training
