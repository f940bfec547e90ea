#include "src/model/classifier.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "src/model/classifier_impl.h"
#include "src/model/device_spec.h"
#include "src/model/model_log.h"

namespace primus::model {

torch::Device resolve_device(const std::string& spec_text) {
  const DeviceSpec spec = parse_device_spec(spec_text);
  switch (spec.kind) {
    case DeviceSpec::Kind::kCpu:
      return torch::Device(torch::kCPU);
    case DeviceSpec::Kind::kAuto: {
      if (torch::cuda::is_available()) {
        log_model_info("device auto: CUDA available (" +
                       std::to_string(torch::cuda::device_count()) + " device(s)), using cuda:0");
        return torch::Device(torch::kCUDA, 0);
      }
      log_model_info("device auto: CUDA not available, using cpu");
      return torch::Device(torch::kCPU);
    }
    case DeviceSpec::Kind::kCuda:
      break;
  }
  if (!torch::cuda::is_available()) {
    throw std::runtime_error("device '" + spec_text +
                             "': CUDA is not available in this LibTorch build or on this machine");
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (spec.index >= count) {
    throw std::runtime_error("device '" + spec_text + "': only " + std::to_string(count) +
                             " CUDA device(s) present");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(spec.index));
}

std::unique_ptr<Classifier::Impl> make_impl(const ModelInfo& info, std::uint64_t seed) {
  validate_model_info(info);
  auto impl = std::make_unique<Classifier::Impl>();
  impl->info = info;
  impl->encoder = PrimusEncoder();
  impl->head = GestureHead(info.head, static_cast<int>(info.labels.size()), info.mlp_hidden);
  auto gen = at::detail::createCPUGenerator(seed);
  impl->encoder->reset_parameters_from(gen);
  impl->head->reset_parameters_from(gen);
  impl->encoder->eval();
  impl->head->eval();
  return impl;
}

torch::Tensor Classifier::Impl::input(const float* x, int batch, int length) const {
  if (x == nullptr) throw std::invalid_argument("predict: input pointer is null");
  if (batch < 1)
    throw std::invalid_argument("predict: batch = " + std::to_string(batch) + ": must be >= 1");
  if (length < kMinLength) {
    throw std::invalid_argument("predict: window length " + std::to_string(length) +
                                " samples is shorter than the PRIMUS encoder's minimum of " +
                                std::to_string(kMinLength));
  }
  const std::size_t per_window = static_cast<std::size_t>(kChannels) * length;
  for (int b = 0; b < batch; ++b) {
    const float* w = x + b * per_window;
    for (std::size_t i = 0; i < per_window; ++i) {
      if (!std::isfinite(w[i])) {
        throw std::invalid_argument(
            "predict: window " + std::to_string(b) + " has a non-finite value at channel " +
            std::to_string(i / length) + ", sample " + std::to_string(i % length));
      }
    }
  }
  // from_blob does not copy: the tensor only reads the caller's buffer during this call.
  auto t = torch::from_blob(const_cast<float*>(x), {batch, kChannels, length},
                            torch::TensorOptions().dtype(torch::kFloat32));
  return device.is_cpu() ? t : t.to(device);
}

namespace {

void copy_out(const torch::Tensor& t, float* dst) {
  if (dst == nullptr) return;
  const auto host = t.to(torch::kCPU, torch::kFloat32).contiguous();
  std::memcpy(dst, host.data_ptr<float>(), static_cast<std::size_t>(host.numel()) * sizeof(float));
}

}  // namespace

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;

std::unique_ptr<Classifier> Classifier::random(const ModelInfo& info, std::uint64_t seed,
                                               const std::string& device) {
  const auto dev = resolve_device(device);
  auto impl = make_impl(info, seed);
  impl->device = dev;
  impl->encoder->to(dev);
  impl->head->to(dev);
  return std::unique_ptr<Classifier>(new Classifier(std::move(impl)));
}

void Classifier::predict(const float* x, int batch, int length, float* probs) {
  if (probs == nullptr) throw std::invalid_argument("predict: output pointer is null");
  c10::InferenceMode guard;
  const auto in = impl_->input(x, batch, length);
  const auto out = impl_->encoder->forward(in);
  const auto logits = impl_->head->forward(out.get(impl_->info.embedding));
  copy_out(torch::softmax(logits, 1), probs);
}

void Classifier::encode(const float* x, int batch, int length, float* emb, float* ssl,
                        float* mmcl) {
  c10::InferenceMode guard;
  const auto in = impl_->input(x, batch, length);
  const auto out = impl_->encoder->forward(in);
  copy_out(out.emb, emb);
  copy_out(out.ssl, ssl);
  copy_out(out.mmcl, mmcl);
}

const ModelInfo& Classifier::info() const { return impl_->info; }

void Classifier::set_version(std::string version) { impl_->info.version = std::move(version); }

std::string Classifier::device_name() const { return impl_->device.str(); }

int Classifier::num_classes() const { return static_cast<int>(impl_->info.labels.size()); }

void set_inference_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("inference threads = " + std::to_string(n) + ": must be >= 1");
  torch::set_num_threads(n);
}

std::unique_ptr<Classifier> Classifier::with_labels(const std::vector<std::string>& labels,
                                                    std::uint64_t seed) const {
  const Classifier& base = *this;
  ModelInfo info = base.info();
  info.labels = labels;
  auto out = Classifier::random(info, seed, "cpu");
  auto& dst = out->impl();
  const auto& src = base.impl();
  torch::NoGradGuard no_grad;
  const auto src_enc = src.encoder->named_parameters();
  for (auto& p : dst.encoder->named_parameters()) {
    const auto* s = src_enc.find(p.key());
    if (s == nullptr) throw std::runtime_error("with_labels: the encoder lacks " + p.key());
    p.value().copy_(s->to(torch::kCPU));
  }
  const auto& old_labels = base.info().labels;
  auto copy_rows = [&](torch::nn::Linear& d, const torch::nn::Linear& s) {
    for (std::size_t k = 0; k < labels.size(); ++k) {
      const auto it = std::find(old_labels.begin(), old_labels.end(), labels[k]);
      if (it == old_labels.end()) continue;
      const auto j = it - old_labels.begin();
      d->weight[static_cast<std::int64_t>(k)].copy_(s->weight[j].to(torch::kCPU));
      d->bias[static_cast<std::int64_t>(k)].copy_(s->bias[j].to(torch::kCPU));
    }
  };
  if (dst.head->mlp) {
    dst.head->fc1->weight.copy_(src.head->fc1->weight.to(torch::kCPU));
    dst.head->fc1->bias.copy_(src.head->fc1->bias.to(torch::kCPU));
    copy_rows(dst.head->fc2, src.head->fc2);
  } else {
    copy_rows(dst.head->fc, src.head->fc);
  }
  return out;
}

}  // namespace primus::model
