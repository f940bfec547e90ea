#pragma once
// Classifier::Impl: the LibTorch side of a Classifier (includes torch): its modules and device.
// For src/model (which builds, loads, saves and edits classifiers) and the trainer
// (src/training/trainer.cpp optimises these modules). Everything else uses Classifier's
// torch-free interface. Same thread contract as Classifier.
#include <torch/torch.h>

#include <string>

#include "src/model/classifier.h"
#include "src/model/primus_net.h"

namespace primus::model {

struct Classifier::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  PrimusEncoder encoder{nullptr};
  GestureHead head{nullptr};

  /// x as a [B,6,T] float tensor on `device` (CPU: a view of the caller's memory, no copy).
  /// Validates the arguments and that every value is finite.
  [[nodiscard]] torch::Tensor input(const float* x, int batch, int length) const;
};

/// "auto" | "cpu" | "cuda" | "cuda:N" against the hardware present. Throws std::runtime_error
/// when CUDA is asked for but absent or the ordinal is out of range. Logs the choice for "auto".
torch::Device resolve_device(const std::string& spec);

/// Builds modules for `info` on CPU with fresh weights from `seed`.
std::unique_ptr<Classifier::Impl> make_impl(const ModelInfo& info, std::uint64_t seed);

}  // namespace primus::model
