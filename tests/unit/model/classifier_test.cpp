// The native PRIMUS encoder and heads: parameter names/shapes as in Python, determinism,
// input rules, and properties of the network that a wrong layer order or axis would break.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/classifier_impl.h"
#include "src/model/primus_net.h"

namespace primus::model {
namespace {

ModelInfo test_info(const std::string& head = "linear") {
  ModelInfo info;
  info.labels = {"null", "wave", "circle"};
  info.head = head;
  info.mlp_hidden = 16;
  return info;
}

std::vector<float> random_windows(int batch, int length, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(static_cast<std::size_t>(batch) * kChannels * length);
  for (auto& v : x) v = normal(rng);
  return x;
}

TEST(PrimusEncoder, ParameterNamesAndShapesMatchPython) {
  const std::map<std::string, std::vector<int64_t>> expected{
      {"backbone.0.weight", {6}},
      {"backbone.0.bias", {6}},
      {"backbone.1.net.0.weight", {32, 6, 10}},
      {"backbone.2.net.0.weight", {32, 32, 5}},
      {"backbone.3.net.0.weight", {32, 32, 5}},
      {"backbone.4.weight", {32}},
      {"backbone.4.bias", {32}},
      {"backbone.5.weight_ih_l0", {1536, 32}},
      {"backbone.5.weight_hh_l0", {1536, 512}},
      {"backbone.5.bias_ih_l0", {1536}},
      {"backbone.5.bias_hh_l0", {1536}},
      {"ssl_head.weight", {512, 512}},
      {"ssl_head.bias", {512}},
      {"mmcl_head.weight", {512, 512}},
      {"mmcl_head.bias", {512}},
  };
  PrimusEncoder enc;
  std::map<std::string, std::vector<int64_t>> got;
  int64_t total = 0;
  for (const auto& p : enc->named_parameters()) {
    got[p.key()] = p.value().sizes().vec();
    total += p.value().numel();
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(total, 1376204);  // PRIMUS.md §1
  EXPECT_TRUE(enc->named_buffers().is_empty());
}

TEST(PrimusEncoder, OutputShapesForSupportedLengths) {
  PrimusEncoder enc;
  torch::NoGradGuard no_grad;
  for (int length : {123, 200, 250, 1000}) {
    const auto out = enc->forward(torch::randn({2, kChannels, length}));
    EXPECT_EQ(out.emb.sizes().vec(), (std::vector<int64_t>{2, 512})) << length;
    EXPECT_EQ(out.ssl.sizes().vec(), (std::vector<int64_t>{2, 512})) << length;
    EXPECT_EQ(out.mmcl.sizes().vec(), (std::vector<int64_t>{2, 512})) << length;
  }
}

TEST(PrimusEncoder, GruReadsConvChannelsAsTime) {
  // Recompute the forward pass by hand: GRU over the UNtransposed [B,32,32] pooled tensor.
  PrimusEncoder enc;
  auto gen = at::detail::createCPUGenerator(3);
  enc->reset_parameters_from(gen);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, kChannels, 250});
  namespace F = torch::nn::functional;
  const auto dil2 = F::Conv1dFuncOptions().dilation(2);
  auto h = F::group_norm(
      x,
      F::GroupNormFuncOptions(2).weight(enc->norm_in->weight).bias(enc->norm_in->bias).eps(1e-5));
  h = torch::max_pool1d(F::conv1d(h, enc->block1->conv->weight, dil2), 3);
  h = torch::max_pool1d(F::conv1d(h, enc->block2->conv->weight, dil2), 3);
  h = torch::adaptive_avg_pool1d(F::conv1d(h, enc->block3->conv->weight, dil2), 32);
  h = F::group_norm(
      h,
      F::GroupNormFuncOptions(4).weight(enc->norm_mid->weight).bias(enc->norm_mid->bias).eps(1e-5));
  ASSERT_EQ(h.sizes().vec(), (std::vector<int64_t>{2, 32, 32}));
  // Hand-written GRU cell over the 32 channels, gate rows [reset | update | new].
  const auto w_ih = enc->gru->named_parameters()["weight_ih_l0"];
  const auto w_hh = enc->gru->named_parameters()["weight_hh_l0"];
  const auto b_ih = enc->gru->named_parameters()["bias_ih_l0"];
  const auto b_hh = enc->gru->named_parameters()["bias_hh_l0"];
  auto state = torch::zeros({2, 512});
  for (int step = 0; step < 32; ++step) {
    const auto gi = torch::addmm(b_ih, h.select(1, step), w_ih.t()).chunk(3, 1);
    const auto gh = torch::addmm(b_hh, state, w_hh.t()).chunk(3, 1);
    const auto r = torch::sigmoid(gi[0] + gh[0]);
    const auto z = torch::sigmoid(gi[1] + gh[1]);
    const auto n = torch::tanh(gi[2] + r * gh[2]);
    state = (1 - z) * n + z * state;
  }
  const auto out = enc->forward(x);
  EXPECT_LT((out.emb - state).abs().max().item<float>(), 1e-5f);
  const auto mmcl = torch::addmm(enc->mmcl_head->bias, state, enc->mmcl_head->weight.t());
  EXPECT_LT((out.mmcl - mmcl).abs().max().item<float>(), 1e-4f);
}

TEST(Classifier, SameSeedSameModelOtherSeedOtherModel) {
  const auto x = random_windows(2, 250, 1);
  std::vector<float> a(2 * 512), b(2 * 512), c(2 * 512);
  Classifier::random(test_info(), 42, "cpu")->encode(x.data(), 2, 250, nullptr, nullptr, a.data());
  Classifier::random(test_info(), 42, "cpu")->encode(x.data(), 2, 250, nullptr, nullptr, b.data());
  Classifier::random(test_info(), 43, "cpu")->encode(x.data(), 2, 250, nullptr, nullptr, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Classifier, PredictGivesDistributionsIndependentOfBatching) {
  for (const std::string head : {"linear", "mlp"}) {
    auto clf = Classifier::random(test_info(head), 5, "cpu");
    ASSERT_EQ(clf->num_classes(), 3);
    EXPECT_EQ(clf->device_name(), "cpu");
    const int batch = 4, length = 200;
    const auto x = random_windows(batch, length, 2);
    std::vector<float> probs(batch * 3);
    clf->predict(x.data(), batch, length, probs.data());
    for (int b = 0; b < batch; ++b) {
      const float sum = probs[b * 3] + probs[b * 3 + 1] + probs[b * 3 + 2];
      EXPECT_NEAR(sum, 1.0f, 1e-5f) << head;
      std::vector<float> one(3);
      clf->predict(x.data() + b * kChannels * length, 1, length, one.data());
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(one[k], probs[b * 3 + k], 1e-5f) << head;
    }
  }
}

TEST(Classifier, HeadUsesTheChosenNormalisedEmbedding) {
  // The head L2-normalises its input, so logits depend on the chosen embedding's direction only.
  auto info = test_info();
  info.embedding = EmbeddingChoice::kSsl;
  auto clf = Classifier::random(info, 9, "cpu");
  const auto x = random_windows(1, 250, 3);
  std::vector<float> ssl(512), probs(3);
  clf->encode(x.data(), 1, 250, nullptr, ssl.data(), nullptr);
  clf->predict(x.data(), 1, 250, probs.data());
  torch::NoGradGuard no_grad;
  auto z = torch::from_blob(ssl.data(), {1, 512}).clone();
  z = z / z.norm(2, 1, true);
  const auto& fc = clf->impl().head->fc;
  const auto expected = torch::softmax(torch::addmm(fc->bias, z, fc->weight.t()), 1);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(probs[k], expected[0][k].item<float>(), 1e-5f);
}

TEST(Classifier, GroupNormMakesTripletRescaleInvisible) {
  auto clf = Classifier::random(test_info(), 11, "cpu");
  auto x = random_windows(1, 250, 4);
  std::vector<float> a(512), b(512);
  clf->encode(x.data(), 1, 250, a.data(), nullptr, nullptr);
  for (int i = 0; i < 3 * 250; ++i) x[i] /= 9.80665f;  // acc in g instead of m/s²
  clf->encode(x.data(), 1, 250, b.data(), nullptr, nullptr);
  float worst = 0;
  for (int i = 0; i < 512; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_LT(worst, 1e-4f);  // GroupNorm's eps (1e-5 on the variance) is the only difference
  // ...but not to a per-axis offset.
  for (int i = 0; i < 250; ++i) x[i] += 3.0f;
  clf->encode(x.data(), 1, 250, b.data(), nullptr, nullptr);
  worst = 0;
  for (int i = 0; i < 512; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_GT(worst, 1e-2f);
}

TEST(Classifier, RejectsShortWindowsAndNonFiniteValues) {
  auto clf = Classifier::random(test_info(), 1, "cpu");
  auto x = random_windows(2, 123, 5);
  std::vector<float> probs(6);
  EXPECT_NO_THROW(clf->predict(x.data(), 2, 123, probs.data()));
  try {
    clf->predict(x.data(), 2, 122, probs.data());
    ADD_FAILURE() << "length 122 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("122"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("123"), std::string::npos) << e.what();
  }
  x[123 * 6 + 4 * 123 + 7] = std::nanf("");
  try {
    clf->predict(x.data(), 2, 123, probs.data());
    ADD_FAILURE() << "NaN accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("window 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("channel 4, sample 7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(clf->predict(x.data(), 0, 123, probs.data()), std::invalid_argument);
}

TEST(Classifier, RejectsBadInfoAndDevices) {
  auto info = test_info();
  info.labels = {"a", "a"};
  EXPECT_THROW(Classifier::random(info, 1, "cpu"), std::invalid_argument);
  info = test_info();
  info.head = "transformer";
  EXPECT_THROW(Classifier::random(info, 1, "cpu"), std::invalid_argument);
  EXPECT_THROW(Classifier::random(test_info(), 1, "gpu"), std::invalid_argument);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(Classifier::random(test_info(), 1, "cuda:0"), std::runtime_error);
    EXPECT_EQ(Classifier::random(test_info(), 1, "auto")->device_name(), "cpu");
  }
}

}  // namespace
}  // namespace primus::model
