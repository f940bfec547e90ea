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
#include "src/model/sgemm.h"

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

void check_input(const float* x, int batch, int length) {
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
}

torch::Tensor Classifier::Impl::input(const float* x, int batch, int length) const {
  check_input(x, batch, length);
  // from_blob does not copy: the tensor only reads the caller's buffer during this call.
  auto t = torch::from_blob(const_cast<float*>(x), {batch, kChannels, length},
                            torch::TensorOptions().dtype(torch::kFloat32));
  return device.is_cpu() ? t : t.to(device);
}

namespace {

// Every parameter of encoder and head, in a fixed order.
std::vector<torch::Tensor> all_parameters(const Classifier::Impl& m) {
  auto p = m.encoder->parameters();
  for (auto& h : m.head->parameters()) p.push_back(h);
  return p;
}

std::vector<float> floats_of(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

bool Classifier::Impl::native_applies() const {
  return device.is_cpu() && backend == ModelBackend::kNative;
}

bool Classifier::Impl::native_fresh() const {
  if (!native) return false;
  for (std::size_t i = 0; i < native_params.size(); ++i)
    if (native_params[i]._version() != native_versions[i]) return false;
  return true;
}

bool Classifier::Impl::native_current() const {
  if (!native_fresh()) return false;
  const auto params = all_parameters(*this);
  if (params.size() != native_params.size()) return false;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!params[i].is_same(native_params[i])) return false;
  return true;
}

void Classifier::Impl::build_native() {
  FastWeights w;
  auto& bb = encoder;
  w.norm_in_w = floats_of(bb->norm_in->weight);
  w.norm_in_b = floats_of(bb->norm_in->bias);
  w.conv1 = floats_of(bb->block1->conv->weight);
  w.conv2 = floats_of(bb->block2->conv->weight);
  w.conv3 = floats_of(bb->block3->conv->weight);
  w.norm_mid_w = floats_of(bb->norm_mid->weight);
  w.norm_mid_b = floats_of(bb->norm_mid->bias);
  w.w_ih = floats_of(bb->gru->named_parameters()["weight_ih_l0"]);
  w.w_hh = floats_of(bb->gru->named_parameters()["weight_hh_l0"]);
  w.b_ih = floats_of(bb->gru->named_parameters()["bias_ih_l0"]);
  w.b_hh = floats_of(bb->gru->named_parameters()["bias_hh_l0"]);
  w.ssl_w = floats_of(bb->ssl_head->weight);
  w.ssl_b = floats_of(bb->ssl_head->bias);
  w.mmcl_w = floats_of(bb->mmcl_head->weight);
  w.mmcl_b = floats_of(bb->mmcl_head->bias);
  w.embedding = info.embedding;
  w.classes = static_cast<int>(info.labels.size());
  w.mlp = head->mlp;
  if (head->mlp) {
    w.hidden = static_cast<int>(head->fc1->weight.size(0));
    w.fc_w = floats_of(head->fc1->weight);
    w.fc_b = floats_of(head->fc1->bias);
    w.fc2_w = floats_of(head->fc2->weight);
    w.fc2_b = floats_of(head->fc2->bias);
  } else {
    w.fc_w = floats_of(head->fc->weight);
    w.fc_b = floats_of(head->fc->bias);
  }
  native = std::make_shared<const FastEncoder>(std::move(w));
  native_params = all_parameters(*this);
  native_versions.clear();
  for (const auto& p : native_params) native_versions.push_back(p._version());
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

namespace {

void predict_modules(const Classifier::Impl& m, const float* x, int batch, int length,
                     float* probs) {
  c10::InferenceMode guard;
  const auto in = m.input(x, batch, length);
  // forward() is not const in LibTorch but writes nothing in eval mode under InferenceMode.
  const auto out = m.encoder.ptr()->forward(in);
  const auto logits = m.head.ptr()->forward(out.get(m.info.embedding));
  copy_out(torch::softmax(logits, 1), probs);
}

}  // namespace

void Classifier::predict(const float* x, int batch, int length, float* probs) {
  if (probs == nullptr) throw std::invalid_argument("predict: output pointer is null");
  if (impl_->native_applies()) {
    check_input(x, batch, length);
    if (!impl_->native_current()) impl_->build_native();
    impl_->native->predict(x, batch, length, probs, impl_->workspace);
    return;
  }
  predict_modules(*impl_, x, batch, length, probs);
}

void Classifier::predict(const float* x, int batch, int length, float* probs, Workspace& ws) const {
  if (probs == nullptr) throw std::invalid_argument("predict: output pointer is null");
  if (impl_->native_applies()) {
    if (!impl_->native_fresh()) {
      throw std::logic_error(
          "predict: the native copy of the weights is missing or stale (call prepare() after "
          "changing the weights, before sharing the classifier)");
    }
    check_input(x, batch, length);
    impl_->native->predict(x, batch, length, probs, ws);
    return;
  }
  predict_modules(*impl_, x, batch, length, probs);
}

bool Classifier::shared() const { return impl_->native_applies() && impl_->native_current(); }

void Classifier::prepare() {
  if (impl_->native_applies() && !impl_->native_current()) impl_->build_native();
}

void Classifier::set_backend(ModelBackend backend) { impl_->backend = backend; }

ModelBackend Classifier::backend() const { return impl_->backend; }

std::string Classifier::path_name() const {
  if (impl_->native_applies()) return "native (" + gemm_backend() + ")";
  return "libtorch";
}

void Classifier::encode(const float* x, int batch, int length, float* emb, float* ssl,
                        float* mmcl) {
  if (impl_->native_applies()) {
    check_input(x, batch, length);
    if (!impl_->native_current()) impl_->build_native();
    impl_->native->encode(x, batch, length, emb, ssl, mmcl, impl_->workspace);
    return;
  }
  c10::InferenceMode guard;
  const auto in = impl_->input(x, batch, length);
  const auto out = impl_->encoder->forward(in);
  copy_out(out.emb, emb);
  copy_out(out.ssl, ssl);
  copy_out(out.mmcl, mmcl);
}

const ModelInfo& Classifier::info() const { return impl_->info; }

void Classifier::set_version(std::string version) { impl_->info.version = std::move(version); }
void Classifier::set_calibration(std::optional<events::Calibration> calibration) {
  impl_->info.calibration = std::move(calibration);
}

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
