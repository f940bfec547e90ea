#pragma once
// Classification metrics for the accuracy gate. Pure; any thread.
//
// macro_f1 is the mean F1 over the classes that occur in the truth (support > 0); a class the
// model never predicts scores 0. accuracy is the fraction of correct predictions.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace primus::training {

struct EvalMetrics {
  std::size_t n = 0;
  double accuracy = 0;
  double macro_f1 = 0;
  double loss = 0;                    ///< mean cross-entropy (when computed by the trainer)
  std::vector<double> f1;             ///< per class (0 without support)
  std::vector<std::int64_t> support;  ///< per class
  std::vector<std::vector<std::int64_t>> confusion;  ///< [truth][predicted]
};

/// truth/pred are class indices in [0, classes). Throws std::invalid_argument on size mismatch.
[[nodiscard]] EvalMetrics classification_metrics(const std::vector<int>& truth,
                                                 const std::vector<int>& pred, std::size_t classes);

/// {"n","accuracy","macro_f1","loss","per_label":{label:{"f1","support"}},"confusion":[[...]]}
[[nodiscard]] nlohmann::json to_json(const EvalMetrics& m, const std::vector<std::string>& labels);

}  // namespace primus::training
