#include "src/training/metrics.h"

#include <stdexcept>

namespace primus::training {

EvalMetrics classification_metrics(const std::vector<int>& truth, const std::vector<int>& pred,
                                   std::size_t classes) {
  if (truth.size() != pred.size())
    throw std::invalid_argument("metrics: " + std::to_string(truth.size()) + " labels but " +
                                std::to_string(pred.size()) + " predictions");
  EvalMetrics m;
  m.n = truth.size();
  m.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  m.support.assign(classes, 0);
  m.f1.assign(classes, 0.0);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto t = static_cast<std::size_t>(truth[i]);
    const auto p = static_cast<std::size_t>(pred[i]);
    if (t >= classes || p >= classes) throw std::invalid_argument("metrics: class out of range");
    ++m.confusion[t][p];
    ++m.support[t];
    if (t == p) ++correct;
  }
  m.accuracy = m.n ? static_cast<double>(correct) / static_cast<double>(m.n) : 0.0;
  double sum = 0;
  int present = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    if (m.support[c] == 0) continue;
    std::int64_t predicted = 0;
    for (std::size_t t = 0; t < classes; ++t) predicted += m.confusion[t][c];
    const double tp = static_cast<double>(m.confusion[c][c]);
    const double denom = static_cast<double>(m.support[c] + predicted);
    m.f1[c] = denom > 0 ? 2 * tp / denom : 0.0;
    sum += m.f1[c];
    ++present;
  }
  m.macro_f1 = present ? sum / present : 0.0;
  return m;
}

nlohmann::json to_json(const EvalMetrics& m, const std::vector<std::string>& labels) {
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t c = 0; c < m.f1.size() && c < labels.size(); ++c)
    if (m.support[c] > 0) per[labels[c]] = {{"f1", m.f1[c]}, {"support", m.support[c]}};
  return {{"n", m.n},       {"accuracy", m.accuracy}, {"macro_f1", m.macro_f1},
          {"loss", m.loss}, {"per_label", per},       {"confusion", m.confusion}};
}

}  // namespace primus::training
