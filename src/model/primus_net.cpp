#include "src/model/primus_net.h"

#include <cmath>
#include <stdexcept>

#include "src/model/classifier.h"

namespace primus::model {

namespace nn = torch::nn;

const torch::Tensor& EncoderOutput::get(EmbeddingChoice which) const {
  switch (which) {
    case EmbeddingChoice::kSsl:
      return ssl;
    case EmbeddingChoice::kEmb:
      return emb;
    case EmbeddingChoice::kMmcl:
      break;
  }
  return mmcl;
}

ConvBlockImpl::ConvBlockImpl(int in_ch, int out_ch, int kernel, nn::AnyModule pool) {
  conv = nn::Conv1d(nn::Conv1dOptions(in_ch, out_ch, kernel).dilation(2).bias(false));
  net = register_module("net", nn::Sequential(conv, std::move(pool)));
}

PrimusEncoderImpl::PrimusEncoderImpl() {
  constexpr int kHidden = kEmbeddingDim;
  constexpr int kConvCh = 32;
  norm_in = nn::GroupNorm(nn::GroupNormOptions(2, kChannels).eps(1e-5));
  block1 = ConvBlock(kChannels, kConvCh, 10, nn::AnyModule(nn::MaxPool1d(3)));
  block2 = ConvBlock(kConvCh, kConvCh, 5, nn::AnyModule(nn::MaxPool1d(3)));
  block3 = ConvBlock(kConvCh, kConvCh, 5, nn::AnyModule(nn::AdaptiveAvgPool1d(32)));
  norm_mid = nn::GroupNorm(nn::GroupNormOptions(4, kConvCh).eps(1e-5));
  gru = nn::GRU(nn::GRUOptions(kConvCh, kHidden).num_layers(1).batch_first(true));
  backbone =
      register_module("backbone", nn::ModuleList(norm_in, block1, block2, block3, norm_mid, gru));
  ssl_head = register_module("ssl_head", nn::Linear(kHidden, kHidden));
  mmcl_head = register_module("mmcl_head", nn::Linear(kHidden, kHidden));
}

EncoderOutput PrimusEncoderImpl::forward(const torch::Tensor& x) {
  auto h = norm_in->forward(x);
  h = block1->forward(h);
  h = block2->forward(h);
  h = block3->forward(h);
  h = norm_mid->forward(h);
  // [B,32 channels,32 bins] goes in as batch_first: 32 steps (channels) of 32 features (bins).
  auto h_n = std::get<1>(gru->forward(h));
  EncoderOutput out;
  out.emb = h_n.squeeze(0);
  out.ssl = ssl_head->forward(out.emb);
  out.mmcl = mmcl_head->forward(out.emb);
  return out;
}

namespace {

void uniform_from(torch::Tensor& t, double bound, at::Generator& gen) {
  t.uniform_(-bound, bound, gen);
}

void reset_linear(nn::Linear& fc, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fc->options.in_features()));
  uniform_from(fc->weight, bound, gen);
  uniform_from(fc->bias, bound, gen);
}

void reset_conv(nn::Conv1d& conv, at::Generator& gen) {
  // kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  const auto fan_in = conv->weight.size(1) * conv->weight.size(2);
  uniform_from(conv->weight, 1.0 / std::sqrt(static_cast<double>(fan_in)), gen);
}

}  // namespace

void PrimusEncoderImpl::reset_parameters_from(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto* block : {&block1, &block2, &block3}) reset_conv((*block)->conv, gen);
  for (auto* norm : {&norm_in, &norm_mid}) {
    (*norm)->weight.fill_(1.0);
    (*norm)->bias.fill_(0.0);
  }
  const double gru_bound = 1.0 / std::sqrt(static_cast<double>(kEmbeddingDim));
  for (auto& p : gru->parameters()) uniform_from(p, gru_bound, gen);
  reset_linear(ssl_head, gen);
  reset_linear(mmcl_head, gen);
}

GestureHeadImpl::GestureHeadImpl(const std::string& kind, int num_classes, int mlp_hidden) {
  if (kind == "linear") {
    fc = register_module("fc", nn::Linear(kEmbeddingDim, num_classes));
  } else if (kind == "mlp") {
    mlp = true;
    fc1 = register_module("fc1", nn::Linear(kEmbeddingDim, mlp_hidden));
    fc2 = register_module("fc2", nn::Linear(mlp_hidden, num_classes));
  } else {
    throw std::invalid_argument("head '" + kind + "': expected linear or mlp");
  }
}

torch::Tensor GestureHeadImpl::forward(const torch::Tensor& embedding) {
  namespace F = torch::nn::functional;
  auto z = F::normalize(embedding, F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  if (!mlp) return fc->forward(z);
  return fc2->forward(torch::relu(fc1->forward(z)));
}

void GestureHeadImpl::reset_parameters_from(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  if (mlp) {
    reset_linear(fc1, gen);
    reset_linear(fc2, gen);
  } else {
    reset_linear(fc, gen);
  }
}

}  // namespace primus::model
