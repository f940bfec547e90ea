// Classifier <-> safetensors. Separate from classifier.cpp so that a build against LibTorch
// alone (bench/gpu) can leave out the nlohmann-json based file code.
#include <stdexcept>

#include "src/model/classifier.h"
#include "src/model/classifier_impl.h"
#include "src/model/model_file.h"
#include "src/model/model_log.h"

namespace primus::model {

namespace {

// Copies each named tensor of `file` into the parameter of that name (file names are
// `prefix` + parameter name). Shapes and dtypes were checked by check_model_file/check_tensors.
void copy_parameters(torch::nn::Module& module, const std::string& prefix,
                     const SafetensorsFile& file) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    const std::string name = prefix + p.key();
    const TensorEntry* t = file.find(name);
    if (t == nullptr) throw std::runtime_error("tensor '" + name + "': missing");
    auto values = file.to_floats(*t);
    const auto src = torch::from_blob(values.data(), t->shape, torch::kFloat32);
    if (src.sizes() != p.value().sizes()) {
      throw std::runtime_error("tensor '" + name + "': shape does not match the module");
    }
    p.value().copy_(src);
  }
}

std::unique_ptr<Classifier::Impl> finish(std::unique_ptr<Classifier::Impl> impl,
                                         const torch::Device& device) {
  impl->device = device;
  impl->encoder->to(device);
  impl->head->to(device);
  return impl;
}

}  // namespace

std::unique_ptr<Classifier> Classifier::load(const std::string& path, const std::string& device) {
  const auto dev = resolve_device(device);
  ModelFile mf = [&] {
    try {
      return open_model_file(path);
    } catch (const SafetensorsError& e) {
      throw std::runtime_error(std::string("model file ") + e.what());
    }
  }();
  if (mf.kind != ModelFileKind::kClassifier) {
    throw std::runtime_error("model file " + path +
                             ": holds an encoder only (no head or labels); load it with "
                             "Classifier::from_encoder and the labels from the config");
  }
  auto impl = make_impl(mf.info, 0);
  copy_parameters(*impl->encoder, "", mf.file);
  copy_parameters(*impl->head, "head.", mf.file);
  log_model_info("loaded classifier " + path + " (" + std::to_string(mf.info.labels.size()) +
                 " classes, head " + mf.info.head + ", embedding " + to_string(mf.info.embedding) +
                 ", version '" + mf.info.version + "') on " + dev.str());
  return std::unique_ptr<Classifier>(new Classifier(finish(std::move(impl), dev)));
}

std::unique_ptr<Classifier> Classifier::from_encoder(const std::string& path, const ModelInfo& info,
                                                     std::uint64_t seed,
                                                     const std::string& device) {
  const auto dev = resolve_device(device);
  auto impl = make_impl(info, seed);
  try {
    auto file = SafetensorsFile::read(path);
    const auto it = file.metadata().find(kFormatKey);
    const bool classifier_file = it != file.metadata().end() && it->second == kClassifierFormat;
    check_tensors(file, encoder_tensors(),
                  classifier_file ? std::vector<std::string>{"head."} : std::vector<std::string>{});
    copy_parameters(*impl->encoder, "", file);
  } catch (const SafetensorsError& e) {
    throw std::runtime_error(std::string("model file ") + (e.what()[0] == '/' ? "" : path + ": ") +
                             e.what());
  }
  log_model_info("loaded PRIMUS encoder " + path + " with a new " + info.head + " head (" +
                 std::to_string(info.labels.size()) + " classes, seed " + std::to_string(seed) +
                 ") on " + dev.str());
  return std::unique_ptr<Classifier>(new Classifier(finish(std::move(impl), dev)));
}

void Classifier::save(const std::string& path) const {
  std::vector<F32Tensor> tensors;
  auto add = [&](torch::nn::Module& module, const std::string& prefix) {
    for (const auto& p : module.named_parameters()) {
      const auto cpu = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
      F32Tensor t;
      t.name = prefix + p.key();
      t.shape = cpu.sizes().vec();
      t.values.assign(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
      tensors.push_back(std::move(t));
    }
  };
  add(*impl_->encoder, "");
  add(*impl_->head, "head.");
  try {
    write_safetensors(path, tensors, metadata_from_model_info(impl_->info));
  } catch (const SafetensorsError& e) {
    throw std::runtime_error(std::string("saving model: ") + e.what());
  }
}

}  // namespace primus::model
