// Parity of the native inference path (src/model/fast_encoder.h, hand-written convolutions, GRU
// and gates on SGEMM) with the LibTorch modules it copies: encoder outputs and probabilities
// within 1e-5 for random weights and inputs, several batch sizes and window lengths, both heads,
// every embedding choice, every SGEMM backend of the build; weights written after the copy are
// noticed; shared calls from several threads agree with one thread.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/classifier_impl.h"
#include "src/model/sgemm.h"

namespace primus::model {
namespace {

constexpr float kTolerance = 1e-5f;

ModelInfo info_for(const std::string& head, EmbeddingChoice e, int classes) {
  ModelInfo info;
  for (int c = 0; c < classes; ++c) info.labels.push_back("c" + std::to_string(c));
  info.head = head;
  info.mlp_hidden = 24;
  info.embedding = e;
  return info;
}

std::vector<float> random_windows(int batch, int length, unsigned seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sd);
  std::vector<float> x(static_cast<std::size_t>(batch) * kChannels * length);
  for (auto& v : x) v = normal(rng);
  // An offset per channel, as gravity gives the accelerometer.
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < length; ++t)
      x[(static_cast<std::size_t>(b) * kChannels + 2) * length + t] += 9.81f;
  return x;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

struct Outputs {
  std::vector<float> emb, ssl, mmcl, probs;
};

Outputs run(Classifier& clf, ModelBackend backend, const std::vector<float>& x, int batch,
            int length) {
  clf.set_backend(backend);
  Outputs o;
  const auto n = static_cast<std::size_t>(batch) * kEmbeddingDim;
  o.emb.resize(n);
  o.ssl.resize(n);
  o.mmcl.resize(n);
  o.probs.resize(static_cast<std::size_t>(batch) * clf.num_classes());
  clf.encode(x.data(), batch, length, o.emb.data(), o.ssl.data(), o.mmcl.data());
  clf.predict(x.data(), batch, length, o.probs.data());
  return o;
}

// Native vs modules on one model; returns the worst difference over all outputs.
float compare(Classifier& clf, int batch, int length, unsigned seed, float sd) {
  const auto x = random_windows(batch, length, seed, sd);
  const auto ref = run(clf, ModelBackend::kLibTorch, x, batch, length);
  const auto nat = run(clf, ModelBackend::kNative, x, batch, length);
  const float worst =
      std::max({max_abs_diff(ref.emb, nat.emb), max_abs_diff(ref.ssl, nat.ssl),
                max_abs_diff(ref.mmcl, nat.mmcl), max_abs_diff(ref.probs, nat.probs)});
  EXPECT_LE(worst, kTolerance) << "batch " << batch << ", length " << length << ", seed " << seed;
  return worst;
}

// Scales the GRU's input weights and biases, so that gates saturate and the tails of sigmoid and
// tanh are used. (The recurrent weights stay: scaled up, the recurrence turns chaotic and any two
// summation orders drift apart, LibTorch against itself included.)
void scale_gru_inputs(Classifier& clf, double factor) {
  torch::NoGradGuard no_grad;
  auto params = clf.impl().encoder->gru->named_parameters();
  for (const char* name : {"weight_ih_l0", "bias_ih_l0", "bias_hh_l0"}) params[name].mul_(factor);
}

class FastEncoderParity : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    previous_ = gemm_backend();
    set_gemm_backend(GetParam());
  }
  void TearDown() override { set_gemm_backend(previous_); }
  std::string previous_;
};

TEST_P(FastEncoderParity, MatchesTheModulesForBatchesLengthsHeadsAndEmbeddings) {
  float worst = 0;
  unsigned seed = 1;
  for (const std::string head : {"linear", "mlp"}) {
    for (const auto e : {EmbeddingChoice::kMmcl, EmbeddingChoice::kSsl, EmbeddingChoice::kEmb}) {
      auto clf = Classifier::random(info_for(head, e, 5), seed, "cpu");
      for (const int batch : {1, 2, 7, 33}) {
        for (const int length : {123, 250, 311})
          worst = std::max(worst, compare(*clf, batch, length, ++seed, 1.5f));
      }
    }
  }
  std::printf("[parity %s] worst |native - libtorch| = %.3g\n", GetParam().c_str(), worst);
}

TEST_P(FastEncoderParity, MatchesTheModulesWithSaturatedGatesAndLargeInputs) {
  auto clf = Classifier::random(info_for("linear", EmbeddingChoice::kMmcl, 3), 9, "cpu");
  scale_gru_inputs(*clf, 30.0);  // gate pre-activations: sd ~4, tails beyond ±15
  for (const int batch : {1, 5, 64}) compare(*clf, batch, 250, 100 + batch, 30.0f);
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, FastEncoderParity, testing::ValuesIn(gemm_backends()),
                         [](const auto& p) { return p.param; });

TEST(FastEncoder, DefaultBackendIsTheFirstBuilt) {
  ASSERT_FALSE(gemm_backends().empty());
  EXPECT_EQ(gemm_backend(), gemm_backends().front());
  EXPECT_EQ(gemm_backends().back(), "libtorch");
  EXPECT_THROW(set_gemm_backend("nonesuch"), std::invalid_argument);
}

TEST(FastEncoder, RowsDoNotDependOnTheRestOfTheBatch) {
  auto clf = Classifier::random(info_for("linear", EmbeddingChoice::kMmcl, 4), 3, "cpu");
  const int batch = 19, length = 250;
  const auto x = random_windows(batch, length, 4, 1.0f);
  std::vector<float> all(static_cast<std::size_t>(batch) * 4), one(4);
  clf->predict(x.data(), batch, length, all.data());
  for (int b : {0, 7, 18}) {
    clf->predict(x.data() + static_cast<std::size_t>(b) * kChannels * length, 1, length,
                 one.data());
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(one[k], all[b * 4 + k], kTolerance);
  }
}

TEST(FastEncoder, WeightsWrittenAfterTheCopyAreNoticed) {
  auto clf = Classifier::random(info_for("linear", EmbeddingChoice::kMmcl, 3), 11, "cpu");
  clf->prepare();
  EXPECT_TRUE(clf->shared());
  EXPECT_EQ(clf->path_name(), "native (" + gemm_backend() + ")");
  const auto x = random_windows(3, 250, 5, 1.0f);
  std::vector<float> before(9), after(9), ref(9);
  clf->predict(x.data(), 3, 250, before.data());
  {
    torch::NoGradGuard no_grad;
    clf->impl().encoder->mmcl_head->weight.mul_(-2.0);  // what an optimizer step does
  }
  EXPECT_FALSE(clf->shared());  // the shared path refuses a stale copy...
  Classifier::Workspace ws;
  EXPECT_THROW(std::as_const(*clf).predict(x.data(), 3, 250, after.data(), ws), std::logic_error);
  clf->predict(x.data(), 3, 250, after.data());  // ...the single-thread path remakes it
  EXPECT_TRUE(clf->shared());
  EXPECT_GT(max_abs_diff(before, after), 1e-3f);
  clf->set_backend(ModelBackend::kLibTorch);
  EXPECT_FALSE(clf->shared());
  EXPECT_EQ(clf->path_name(), "libtorch");
  clf->predict(x.data(), 3, 250, ref.data());
  EXPECT_LE(max_abs_diff(after, ref), kTolerance);
}

TEST(FastEncoder, SharedCallsFromSeveralThreadsAgreeWithOne) {
  auto clf = Classifier::random(info_for("mlp", EmbeddingChoice::kMmcl, 6), 13, "cpu");
  clf->prepare();
  ASSERT_TRUE(clf->shared());
  const Classifier& shared = *clf;
  const int length = 250;
  std::vector<std::vector<float>> inputs, expected;
  for (int i = 0; i < 4; ++i) {
    const int batch = 1 + 5 * i;
    inputs.push_back(random_windows(batch, length, 20 + i, 1.0f));
    expected.emplace_back(static_cast<std::size_t>(batch) * 6);
    clf->predict(inputs.back().data(), batch, length, expected.back().data());
  }
  std::vector<float> worst(4, 0.0f);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      Classifier::Workspace ws;
      const int batch = 1 + 5 * i;
      std::vector<float> p(static_cast<std::size_t>(batch) * 6);
      for (int rep = 0; rep < 5; ++rep) {
        shared.predict(inputs[i].data(), batch, length, p.data(), ws);
        for (std::size_t k = 0; k < p.size(); ++k)
          worst[i] = std::max(worst[i], std::abs(p[k] - expected[i][k]));
      }
    });
  }
  for (auto& t : threads) t.join();
  // Equal up to the last bits (GEMM threads may split sums differently); a race would not be.
  for (int i = 0; i < 4; ++i) EXPECT_LE(worst[i], 1e-6f) << "thread " << i;
}

TEST(FastEncoder, SavedAndLoadedModelMatchesTheModules) {
  const auto path = std::filesystem::path(testing::TempDir()) / "fast_encoder_parity.safetensors";
  auto a = Classifier::random(info_for("mlp", EmbeddingChoice::kSsl, 4), 17, "cpu");
  a->save(path.string());
  auto b = Classifier::load(path.string(), "cpu");
  compare(*b, 9, 250, 31, 1.0f);
  std::filesystem::remove(path);
}

TEST(FastEncoder, RejectsWeightsOfTheWrongSize) {
  FastWeights w;
  try {
    FastEncoder enc(std::move(w));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.0.weight"), std::string::npos) << e.what();
  }
}

TEST(FastEncoder, InputRulesAreTheSameAsTheModules) {
  auto clf = Classifier::random(info_for("linear", EmbeddingChoice::kMmcl, 3), 1, "cpu");
  clf->prepare();
  std::vector<float> x(kChannels * 250, 0.5f), p(3);
  x[kChannels * 250 - 1] = std::nanf("");
  Classifier::Workspace ws;
  EXPECT_THROW(std::as_const(*clf).predict(x.data(), 1, 250, p.data(), ws), std::invalid_argument);
  EXPECT_THROW(clf->predict(x.data(), 1, 100, p.data()), std::invalid_argument);
  EXPECT_THROW(clf->predict(x.data(), 0, 250, p.data()), std::invalid_argument);
}

}  // namespace
}  // namespace primus::model
