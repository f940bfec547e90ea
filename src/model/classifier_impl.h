#pragma once
// Classifier::Impl: the LibTorch side of a Classifier (includes torch): its modules and device.
// For src/model (which builds, loads, saves and edits classifiers) and the trainer
// (src/training/trainer.cpp optimises these modules). Everything else uses Classifier's
// torch-free interface. Same thread contract as Classifier.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/fast_encoder.h"
#include "src/model/primus_net.h"

namespace primus::model {

struct Classifier::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  PrimusEncoder encoder{nullptr};
  GestureHead head{nullptr};
  ModelBackend backend = ModelBackend::kNative;

  /// The native path's copy of the weights (src/model/fast_encoder.h), made by
  /// Classifier::prepare() or on the first native call; null until then. `native_params` and
  /// `native_versions` are the parameters and their version counters at the copy: any later
  /// write to a parameter (an optimizer step, copy_) or a replaced parameter tensor makes the copy
  /// stale; it is then rebuilt (single-thread calls) or refused (shared calls).
  std::shared_ptr<const FastEncoder> native;
  std::vector<torch::Tensor> native_params;
  std::vector<std::int64_t> native_versions;
  FastEncoder::Workspace workspace;  ///< scratch of the single-thread predict()/encode()

  /// x as a [B,6,T] float tensor on `device` (CPU: a view of the caller's memory, no copy).
  /// Validates the arguments and that every value is finite.
  [[nodiscard]] torch::Tensor input(const float* x, int batch, int length) const;
  /// True when predict/encode take the native path: CPU device and backend native.
  [[nodiscard]] bool native_applies() const;
  /// True when `native` exists and none of the parameters it was made from was written since
  /// (no allocation: safe on every shared call).
  [[nodiscard]] bool native_fresh() const;
  /// native_fresh(), and the modules still hold those parameter tensors.
  [[nodiscard]] bool native_current() const;
  /// (Re)builds `native` from the modules' parameters.
  void build_native();
};

/// Checks predict()/encode() arguments: pointer, batch >= 1, length >= kMinLength, every value
/// finite. Throws std::invalid_argument naming the window, channel and sample.
void check_input(const float* x, int batch, int length);

/// "auto" | "cpu" | "cuda" | "cuda:N" against the hardware present. Throws std::runtime_error
/// when CUDA is asked for but absent or the ordinal is out of range. Logs the choice for "auto".
torch::Device resolve_device(const std::string& spec);

/// Builds modules for `info` on CPU with fresh weights from `seed`.
std::unique_ptr<Classifier::Impl> make_impl(const ModelInfo& info, std::uint64_t seed);

}  // namespace primus::model
