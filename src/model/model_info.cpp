// Torch-free helpers of classifier.h (ModelInfo, EmbeddingChoice).
#include <cmath>
#include <set>
#include <stdexcept>

#include "src/model/classifier.h"

namespace primus::model {

const char* to_string(EmbeddingChoice e) noexcept {
  switch (e) {
    case EmbeddingChoice::kSsl:
      return "ssl";
    case EmbeddingChoice::kEmb:
      return "emb";
    case EmbeddingChoice::kMmcl:
      break;
  }
  return "mmcl";
}

EmbeddingChoice parse_embedding_choice(const std::string& s) {
  if (s == "mmcl") return EmbeddingChoice::kMmcl;
  if (s == "ssl") return EmbeddingChoice::kSsl;
  if (s == "emb") return EmbeddingChoice::kEmb;
  throw std::invalid_argument("embedding '" + s + "': expected mmcl, ssl or emb");
}

void validate_model_info(const ModelInfo& info) {
  if (info.labels.empty()) throw std::invalid_argument("model labels: must not be empty");
  if (info.labels.size() > 100000) throw std::invalid_argument("model labels: too many");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < info.labels.size(); ++i) {
    const auto& l = info.labels[i];
    if (l.empty()) {
      throw std::invalid_argument("model labels[" + std::to_string(i) + "]: must not be empty");
    }
    if (!seen.insert(l).second) {
      throw std::invalid_argument("model labels[" + std::to_string(i) + "] = '" + l +
                                  "': duplicate");
    }
  }
  if (info.window_length < kMinLength) {
    throw std::invalid_argument("model window_length = " + std::to_string(info.window_length) +
                                ": must be >= " + std::to_string(kMinLength));
  }
  if (!(info.rate_hz > 0.0) || !std::isfinite(info.rate_hz)) {
    throw std::invalid_argument("model rate_hz = " + std::to_string(info.rate_hz) +
                                ": must be > 0");
  }
  if (info.head != "linear" && info.head != "mlp") {
    throw std::invalid_argument("model head = '" + info.head + "': expected linear or mlp");
  }
  if (info.head == "mlp" && (info.mlp_hidden < 1 || info.mlp_hidden > 65536)) {
    throw std::invalid_argument("model mlp_hidden = " + std::to_string(info.mlp_hidden) +
                                ": must be in 1..65536");
  }
}

}  // namespace primus::model
