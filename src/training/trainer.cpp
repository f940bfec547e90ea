#include "src/training/trainer.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "src/model/classifier_impl.h"

namespace primus::training {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<torch::Tensor> snapshot(model::Classifier::Impl& m) {
  std::vector<torch::Tensor> s;
  for (auto& p : m.encoder->parameters()) s.push_back(p.detach().clone());
  for (auto& p : m.head->parameters()) s.push_back(p.detach().clone());
  return s;
}

void restore(model::Classifier::Impl& m, const std::vector<torch::Tensor>& s) {
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  for (auto& p : m.encoder->parameters()) p.copy_(s[i++]);
  for (auto& p : m.head->parameters()) p.copy_(s[i++]);
}

struct Augmenter {
  bool scale = false, permute = false, rotate = false, noise = false;
  explicit Augmenter(const std::vector<std::string>& names) {
    for (const auto& n : names) {
      if (n == "scale")
        scale = true;
      else if (n == "permute")
        permute = true;
      else if (n == "rotate")
        rotate = true;
      else if (n == "noise")
        noise = true;
      else
        throw std::invalid_argument("fine-tune: unknown augmentation \"" + n + "\"");
    }
  }
  [[nodiscard]] bool any() const { return scale || permute || rotate || noise; }

  /// One window [6, L] in place.
  void apply(float* w, int L, std::mt19937_64& rng) const {
    const auto n = static_cast<std::size_t>(L);
    if (rotate) {
      // Same rotation for acc and gyro: axis uniform on the sphere, angle in [-30°, 30°].
      std::normal_distribution<double> g(0, 1);
      double ax = g(rng), ay = g(rng), az = g(rng);
      const double norm = std::sqrt(ax * ax + ay * ay + az * az) + 1e-12;
      ax /= norm, ay /= norm, az /= norm;
      const double a = std::uniform_real_distribution<double>(-kPi / 6, kPi / 6)(rng);
      const double c = std::cos(a), s = std::sin(a), t = 1 - c;
      const double R[3][3] = {{t * ax * ax + c, t * ax * ay - s * az, t * ax * az + s * ay},
                              {t * ax * ay + s * az, t * ay * ay + c, t * ay * az - s * ax},
                              {t * ax * az - s * ay, t * ay * az + s * ax, t * az * az + c}};
      for (int sensor = 0; sensor < 2; ++sensor) {
        float* b = w + static_cast<std::size_t>(sensor) * 3 * n;
        for (std::size_t i = 0; i < n; ++i) {
          const double v[3] = {b[i], b[n + i], b[2 * n + i]};
          for (std::size_t r = 0; r < 3; ++r)
            b[r * n + i] = static_cast<float>(R[r][0] * v[0] + R[r][1] * v[1] + R[r][2] * v[2]);
        }
      }
    }
    if (scale) {
      // One factor per window and sensor (acc, gyro), N(1, 0.1²) clipped to [0.7, 1.3].
      std::normal_distribution<double> f(1.0, 0.1);
      for (int sensor = 0; sensor < 2; ++sensor) {
        const auto k = static_cast<float>(std::clamp(f(rng), 0.7, 1.3));
        float* b = w + static_cast<std::size_t>(sensor) * 3 * n;
        for (std::size_t i = 0; i < 3 * n; ++i) b[i] *= k;
      }
    }
    if (noise) {
      std::normal_distribution<float> e(0.0F, 0.05F);
      for (std::size_t i = 0; i < 6 * n; ++i) w[i] += e(rng);
    }
    if (permute && L >= 10) {
      // PRIMUS's segment permutation: 4 distinct cut points, 5 segments in random order.
      std::vector<int> cuts;
      std::uniform_int_distribution<int> pick(1, L - 1);
      while (cuts.size() < 4) {
        const int c = pick(rng);
        if (std::find(cuts.begin(), cuts.end(), c) == cuts.end()) cuts.push_back(c);
      }
      std::sort(cuts.begin(), cuts.end());
      std::vector<std::pair<int, int>> seg{{0, cuts[0]}};
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) seg.emplace_back(cuts[i], cuts[i + 1]);
      seg.emplace_back(cuts.back(), L);
      std::shuffle(seg.begin(), seg.end(), rng);
      std::vector<float> tmp(n);
      for (std::size_t ch = 0; ch < 6; ++ch) {
        float* b = w + ch * n;
        std::size_t o = 0;
        for (const auto& [a, e] : seg)
          for (int i = a; i < e; ++i) tmp[o++] = b[i];
        std::copy(tmp.begin(), tmp.end(), b);
      }
    }
  }
};

EvalMetrics evaluate_impl(model::Classifier& m, const WindowSet& set,
                          const std::vector<std::string>& labels) {
  const std::size_t C = labels.size();
  const auto& ml = m.info().labels;
  std::vector<int> to_set(ml.size(), -1);  // model class -> set class
  std::vector<int> to_model(C, -1);        // set class -> model class
  for (std::size_t j = 0; j < ml.size(); ++j) {
    const auto it = std::find(labels.begin(), labels.end(), ml[j]);
    if (it != labels.end()) {
      to_set[j] = static_cast<int>(it - labels.begin());
      to_model[static_cast<std::size_t>(to_set[j])] = static_cast<int>(j);
    }
  }
  std::vector<int> truth, pred;
  double loss = 0;
  const int L = set.length;
  const std::size_t per = 6 * static_cast<std::size_t>(L);
  std::vector<float> probs;
  for (std::size_t b = 0; b < set.size(); b += 64) {
    const int n = static_cast<int>(std::min<std::size_t>(64, set.size() - b));
    probs.resize(static_cast<std::size_t>(n) * ml.size());
    m.predict(set.x.data() + b * per, n, L, probs.data());
    for (int i = 0; i < n; ++i) {
      const float* p = probs.data() + static_cast<std::size_t>(i) * ml.size();
      const auto best = static_cast<std::size_t>(std::max_element(p, p + ml.size()) - p);
      const int t = set.y[b + static_cast<std::size_t>(i)];
      truth.push_back(t);
      pred.push_back(to_set[best] >= 0 ? to_set[best] : static_cast<int>(C));  // C = unknown
      const int mt = to_model[static_cast<std::size_t>(t)];
      const double pt = mt >= 0 ? p[mt] : 0.0;
      loss -= std::log(std::max(pt, 1e-12));
    }
  }
  auto r = classification_metrics(truth, pred, C + 1);  // the extra class is "not a label here"
  r.f1.resize(C);
  r.support.resize(C);
  r.confusion.resize(C);
  r.loss = r.n ? loss / static_cast<double>(r.n) : 0.0;
  return r;
}

}  // namespace

FinetuneOptions finetune_options(const TrainingConfig& t) {
  FinetuneOptions o;
  o.mode = t.mode;
  o.epochs = t.epochs;
  o.head_epochs = t.head_epochs;
  o.batch_size = t.batch_size;
  o.lr = t.lr;
  o.encoder_lr = t.encoder_lr;
  o.weight_decay = t.weight_decay;
  o.warmup_fraction = t.warmup_fraction;
  o.patience = t.patience;
  o.augment = t.augment;
  o.balance = t.balance;
  o.seed = t.seed;
  return o;
}

FinetuneResult::FinetuneResult() = default;
FinetuneResult::FinetuneResult(FinetuneResult&&) noexcept = default;
FinetuneResult& FinetuneResult::operator=(FinetuneResult&&) noexcept = default;
FinetuneResult::~FinetuneResult() = default;

void set_training_threads(int n) {
  if (n < 1) throw std::invalid_argument("training threads must be >= 1");
  torch::set_num_threads(n);
}

EvalMetrics evaluate(model::Classifier& m, const WindowSet& set,
                     const std::vector<std::string>& labels) {
  return evaluate_impl(m, set, labels);
}

FinetuneResult finetune(const model::Classifier& base, const Dataset& data,
                        const FinetuneOptions& opt,
                        const std::function<void(const Progress&)>& on_progress,
                        const std::atomic<bool>* cancel) {
  if (data.train.size() == 0)
    throw std::invalid_argument("fine-tune: no training windows (label more captures)");
  if (data.train.length < model::kMinLength)
    throw std::invalid_argument("fine-tune: windows of " + std::to_string(data.train.length) +
                                " samples are shorter than the encoder's minimum " +
                                std::to_string(model::kMinLength));
  if (opt.epochs < 1 || opt.batch_size < 1 || opt.patience < 1)
    throw std::invalid_argument("fine-tune: epochs, batch_size and patience must be >= 1");
  const Augmenter aug(opt.augment);
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const WindowSet& val = data.val.size() ? data.val : data.train;
  FinetuneResult res;
  res.model = base.with_labels(data.labels, opt.seed ^ 0x9e3779b97f4a7c15ULL);
  auto& m = res.model->impl();
  const auto emb_choice = m.info.embedding;
  const int L = data.train.length;
  const std::size_t per = 6 * static_cast<std::size_t>(L);
  const std::size_t N = data.train.size();
  std::mt19937_64 rng(opt.seed);

  struct Phase {
    bool encoder;
    int epochs;
  };
  std::vector<Phase> phases;
  switch (opt.mode) {
    case FinetuneMode::kHead:
      phases.push_back({false, opt.epochs});
      break;
    case FinetuneMode::kFull:
      phases.push_back({true, opt.epochs});
      break;
    case FinetuneMode::kStaged:
      if (opt.head_epochs > 0) phases.push_back({false, opt.head_epochs});
      if (opt.epochs - opt.head_epochs > 0) phases.push_back({true, opt.epochs - opt.head_epochs});
      break;
  }
  const int total_epochs = opt.epochs;

  // Class-balanced sampling weights: each class drawn equally often.
  const auto counts = data.train.class_counts(data.labels.size());
  std::vector<double> weights(N);
  for (std::size_t i = 0; i < N; ++i)
    weights[i] = 1.0 / static_cast<double>(counts[static_cast<std::size_t>(data.train.y[i])]);

  double best_f1 = -1, best_loss = 1e300;
  auto best = snapshot(m);
  int epoch = 0;
  std::vector<float> xb;
  std::vector<std::int64_t> yb;
  for (const auto& ph : phases) {
    if (res.cancelled) break;
    for (auto& p : m.encoder->parameters()) p.set_requires_grad(ph.encoder);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::vector<double> base_lr;
    auto add_group = [&](std::vector<torch::Tensor> params, double lr) {
      groups.emplace_back(std::move(params),
                          std::make_unique<torch::optim::AdamWOptions>(
                              torch::optim::AdamWOptions(lr).weight_decay(opt.weight_decay)));
      base_lr.push_back(lr);
    };
    add_group(m.head->parameters(), opt.lr);
    if (ph.encoder) add_group(m.encoder->parameters(), opt.encoder_lr);
    torch::optim::AdamW optim(groups,
                              torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));

    const std::size_t steps_per_epoch = (N + static_cast<std::size_t>(opt.batch_size) - 1) /
                                        static_cast<std::size_t>(opt.batch_size);
    const double total = static_cast<double>(steps_per_epoch) * ph.epochs;
    const double warm = std::floor(opt.warmup_fraction * total);
    std::size_t step = 0;

    // Frozen encoder without augmentation: embed every training window once.
    torch::Tensor cache;
    if (!ph.encoder && !aug.any()) {
      c10::InferenceMode guard;
      std::vector<torch::Tensor> parts;
      for (std::size_t b = 0; b < N; b += 128) {
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(128, N - b));
        auto x = torch::from_blob(const_cast<float*>(data.train.x.data() + b * per),
                                  {n, 6, static_cast<std::int64_t>(L)});
        parts.push_back(m.encoder->forward(x).get(emb_choice).clone());
      }
      cache = torch::cat(parts).clone();
    }

    int since_best = 0;
    for (int e = 0; e < ph.epochs; ++e) {
      ++epoch;
      std::vector<std::size_t> order(N);
      if (opt.balance) {
        std::discrete_distribution<std::size_t> d(weights.begin(), weights.end());
        for (auto& o : order) o = d(rng);
      } else {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
      }
      double loss_sum = 0;
      std::size_t loss_n = 0;
      for (std::size_t b = 0; b < N; b += static_cast<std::size_t>(opt.batch_size)) {
        if (cancel != nullptr && cancel->load()) {
          res.cancelled = true;
          break;
        }
        const std::size_t n =
            std::min<std::size_t>(static_cast<std::size_t>(opt.batch_size), N - b);
        const double f = static_cast<double>(step) < warm
                             ? (static_cast<double>(step) + 1) / (warm + 1)
                             : 0.5 * (1 + std::cos(kPi * (static_cast<double>(step) - warm) /
                                                   std::max(1.0, total - warm)));
        for (std::size_t g = 0; g < optim.param_groups().size(); ++g)
          static_cast<torch::optim::AdamWOptions&>(optim.param_groups()[g].options())
              .lr(base_lr[g] * f);
        yb.resize(n);
        for (std::size_t i = 0; i < n; ++i) yb[i] = data.train.y[order[b + i]];
        auto y = torch::from_blob(yb.data(), {static_cast<std::int64_t>(n)}, torch::kInt64);
        torch::Tensor feats;
        if (cache.defined()) {
          std::vector<std::int64_t> idx(n);
          for (std::size_t i = 0; i < n; ++i) idx[i] = static_cast<std::int64_t>(order[b + i]);
          feats = cache.index_select(
              0, torch::from_blob(idx.data(), {static_cast<std::int64_t>(n)}, torch::kInt64));
        } else {
          xb.resize(n * per);
          for (std::size_t i = 0; i < n; ++i) {
            std::copy_n(data.train.window(order[b + i]), per,
                        xb.begin() + static_cast<std::ptrdiff_t>(i * per));
            if (aug.any()) aug.apply(xb.data() + i * per, L, rng);
          }
          auto x = torch::from_blob(
              xb.data(), {static_cast<std::int64_t>(n), 6, static_cast<std::int64_t>(L)});
          if (ph.encoder) {
            feats = m.encoder->forward(x).get(emb_choice);
          } else {
            torch::NoGradGuard ng;
            feats = m.encoder->forward(x).get(emb_choice).detach();
          }
        }
        auto loss = torch::nn::functional::cross_entropy(m.head->forward(feats), y);
        optim.zero_grad();
        loss.backward();
        optim.step();
        ++step;
        loss_sum += loss.item<double>() * static_cast<double>(n);
        loss_n += n;
      }
      if (res.cancelled) break;
      const auto v = evaluate_impl(*res.model, val, data.labels);
      res.epochs_run = epoch;
      if (on_progress) {
        Progress p;
        p.epoch = epoch;
        p.epochs = total_epochs;
        p.phase = ph.encoder ? "full" : "head";
        p.train_loss = loss_n ? loss_sum / static_cast<double>(loss_n) : 0;
        p.val_loss = v.loss;
        p.val_macro_f1 = v.macro_f1;
        p.seconds = seconds();
        on_progress(p);
      }
      if (v.macro_f1 > best_f1 + 1e-9 || (v.macro_f1 >= best_f1 - 1e-9 && v.loss < best_loss)) {
        best_f1 = v.macro_f1;
        best_loss = v.loss;
        best = snapshot(m);
        res.best_epoch = epoch;
        since_best = 0;
      } else if (++since_best >= opt.patience) {
        break;  // early stop of this phase
      }
    }
  }
  for (auto& p : m.encoder->parameters()) p.set_requires_grad(false);
  for (auto& p : m.head->parameters()) p.set_requires_grad(false);
  restore(m, best);
  res.val = evaluate_impl(*res.model, val, data.labels);
  res.seconds = seconds();
  return res;
}

}  // namespace primus::training
