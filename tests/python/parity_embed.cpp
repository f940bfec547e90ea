// C++ side of the Python-vs-C++ parity test (tests/python/test_convert.py).
//   primus_parity_embed WEIGHTS.safetensors INPUTS.safetensors OUTPUTS.safetensors [DEVICE]
// Every input tensor NAME of shape [B,6,T] is run through the encoder loaded from WEIGHTS (an
// encoder or classifier file) on DEVICE (default cpu; one CPU thread); OUTPUTS gets emb/NAME, ssl/NAME, mmcl/NAME
// of shape [B,512]. Exit status 0 on success, 1 with a message on stderr otherwise.
#include <exception>
#include <iostream>

#include "src/model/classifier.h"
#include "src/model/safetensors.h"

int main(int argc, char** argv) {
  using namespace primus::model;
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: primus_parity_embed WEIGHTS INPUTS OUTPUTS [DEVICE]\n";
    return 1;
  }
  try {
    set_inference_threads(1);
    ModelInfo info;
    info.labels = {"unused"};
    auto clf = Classifier::from_encoder(argv[1], info, 0, argc == 5 ? argv[4] : "cpu");
    const auto inputs = SafetensorsFile::read(argv[2]);
    std::vector<F32Tensor> outputs;
    for (const auto& t : inputs.tensors()) {
      if (t.shape.size() != 3 || t.shape[1] != kChannels) {
        throw std::runtime_error("input '" + t.name + "': expected shape [B,6,T]");
      }
      const int batch = static_cast<int>(t.shape[0]);
      const int length = static_cast<int>(t.shape[2]);
      const auto x = inputs.to_floats(t);
      const std::vector<std::int64_t> shape{batch, kEmbeddingDim};
      F32Tensor emb{"emb/" + t.name, shape, std::vector<float>(batch * kEmbeddingDim)};
      F32Tensor ssl{"ssl/" + t.name, shape, std::vector<float>(batch * kEmbeddingDim)};
      F32Tensor mmcl{"mmcl/" + t.name, shape, std::vector<float>(batch * kEmbeddingDim)};
      clf->encode(x.data(), batch, length, emb.values.data(), ssl.values.data(),
                  mmcl.values.data());
      outputs.push_back(std::move(emb));
      outputs.push_back(std::move(ssl));
      outputs.push_back(std::move(mmcl));
    }
    write_safetensors(argv[3], outputs, {});
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "primus_parity_embed: " << e.what() << '\n';
    return 1;
  }
}
