#pragma once
// LibTorch modules of the PRIMUS encoder and the gesture heads. Includes torch: only for
// src/model, src/inference and src/training sources. Everything else uses classifier.h.
//
// Parameter names and shapes equal the Python state dict of MW2StackRNNPoolingMultihead
// (PRIMUS.md §1), so weights move between the two by name. The original's quirks are kept:
// no activation anywhere, and the GRU (batch_first) reads the [B,32,32] pooled tensor unchanged,
// i.e. its time axis is the 32 conv channels and its features are the 32 pooled time bins.
//
// Thread contract: torch modules; use each instance from one thread at a time.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/config/config.h"

namespace primus::model {

/// Encoder outputs, each [B,512].
struct EncoderOutput {
  torch::Tensor emb;   ///< GRU final hidden state
  torch::Tensor ssl;   ///< ssl_head(emb)
  torch::Tensor mmcl;  ///< mmcl_head(emb)
  [[nodiscard]] const torch::Tensor& get(EmbeddingChoice which) const;
};

/// One conv block of the backbone: Sequential `net` = Conv1d then a pool.
struct ConvBlockImpl : torch::nn::Module {
  ConvBlockImpl(int in_ch, int out_ch, int kernel, torch::nn::AnyModule pool);
  torch::Tensor forward(const torch::Tensor& x) { return net->forward(x); }
  torch::nn::Sequential net;
  torch::nn::Conv1d conv{nullptr};  ///< net[0], kept typed for initialisation
};
TORCH_MODULE(ConvBlock);

struct PrimusEncoderImpl : torch::nn::Module {
  PrimusEncoderImpl();
  /// x: [B,6,T] float32, T >= kMinLength (checked by the caller).
  EncoderOutput forward(const torch::Tensor& x);
  /// Re-draws every parameter with PyTorch's default initialisation from `gen`.
  void reset_parameters_from(at::Generator& gen);

  torch::nn::ModuleList backbone;
  torch::nn::Linear ssl_head{nullptr};
  torch::nn::Linear mmcl_head{nullptr};
  // Typed handles to the modules registered in `backbone` (not registered twice).
  torch::nn::GroupNorm norm_in{nullptr};
  ConvBlock block1{nullptr}, block2{nullptr}, block3{nullptr};
  torch::nn::GroupNorm norm_mid{nullptr};
  torch::nn::GRU gru{nullptr};
};
TORCH_MODULE(PrimusEncoder);

/// L2-normalise (eps 1e-12, like F.normalize), then "linear": fc; "mlp": fc2(relu(fc1(.))).
/// Parameter names: head.fc.{weight,bias} or head.fc1.*, head.fc2.* inside the classifier file.
struct GestureHeadImpl : torch::nn::Module {
  GestureHeadImpl(const std::string& kind, int num_classes, int mlp_hidden);
  torch::Tensor forward(const torch::Tensor& embedding);  ///< [B,512] -> logits [B,C]
  void reset_parameters_from(at::Generator& gen);

  bool mlp = false;
  torch::nn::Linear fc{nullptr}, fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(GestureHead);

}  // namespace primus::model
