// Classifier files (save/load/from_encoder), load errors that name the problem, and the
// `primusctl embed` / `primusctl model info` logic.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/model_cli.h"
#include "src/model/model_file.h"
#include "src/model/safetensors.h"

namespace primus::model {
namespace {

namespace fs = std::filesystem;

class ModelIo : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(testing::TempDir()) /
        ("model_io_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    info_.labels = {"null", "wave", "circle", "shake"};
    info_.embedding = EmbeddingChoice::kSsl;
    info_.version = "3";
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    x_.resize(2 * kChannels * 250);
    for (auto& v : x_) v = normal(rng);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string load_error(const std::string& file) const {
    try {
      Classifier::load(file, "cpu");
      return "";
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }

  fs::path dir_;
  ModelInfo info_;
  std::vector<float> x_;
};

#define EXPECT_MSG(msg, needle) \
  EXPECT_NE((msg).find(needle), std::string::npos) << "message: '" << (msg) << "'"

TEST_F(ModelIo, SaveLoadRoundTripIsExact) {
  for (const std::string head : {"linear", "mlp"}) {
    info_.head = head;
    auto a = Classifier::random(info_, 77, "cpu");
    a->save(path(head + ".safetensors"));
    auto b = Classifier::load(path(head + ".safetensors"), "cpu");
    EXPECT_EQ(b->info().labels, info_.labels);
    EXPECT_EQ(b->info().embedding, EmbeddingChoice::kSsl);
    EXPECT_EQ(b->info().head, head);
    EXPECT_EQ(b->info().version, "3");
    std::vector<float> pa(8), pb(8);
    a->predict(x_.data(), 2, 250, pa.data());
    b->predict(x_.data(), 2, 250, pb.data());
    EXPECT_EQ(pa, pb) << head;
  }
}

TEST_F(ModelIo, CalibrationTravelsWithTheFile) {
  events::Calibration cal;
  cal.rule = "test";
  cal.classes["wave"] = {0.55, 0.3, 2, 100};
  cal.classes["circle"] = {0.8, 0.8, 5, 0};
  auto a = Classifier::random(info_, 7, "cpu");
  a->save(path("plain.safetensors"));
  a->set_calibration(cal);
  a->save(path("cal.safetensors"));
  // A file without one (every file written before calibration existed) loads as before.
  EXPECT_FALSE(Classifier::load(path("plain.safetensors"), "cpu")->info().calibration);
  const auto b = Classifier::load(path("cal.safetensors"), "cpu");
  ASSERT_TRUE(b->info().calibration.has_value());
  EXPECT_EQ(*b->info().calibration, cal);
  EXPECT_EQ(open_model_file(path("cal.safetensors")).info.calibration, cal);
}

TEST_F(ModelIo, GarbageCalibrationIsRefusedWithTheFieldNamed) {
  auto base = metadata_from_model_info(info_);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{not json", "primus.calibration: calibration: not valid JSON"},
      {"[]", "primus.calibration: calibration: must be a JSON object"},
      {R"({"schema":2,"classes":{}})", "schema = 2: must be 1"},
      {R"({"schema":1})", "calibration.classes: missing"},
      {R"({"schema":1,"classes":{},"x":1})", "x: unknown key"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":1.5,"release_threshold":0.1,)"
       R"("smoothing_windows":1,"min_duration_ms":0}}})",
       "classes.wave.onset_threshold = 1.5: must be in [0, 1]"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.7,)"
       R"("smoothing_windows":1,"min_duration_ms":0}}})",
       "classes.wave.release_threshold = 0.7: must be in [0, onset_threshold]"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":0,"min_duration_ms":0}}})",
       "classes.wave.smoothing_windows = 0: must be in 1..1000"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":1.5,"min_duration_ms":0}}})",
       "classes.wave.smoothing_windows = 1.5: must be an integer"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":1,"min_duration_ms":-1}}})",
       "classes.wave.min_duration_ms = -1: must be in 0..600000"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":"high","release_threshold":0.2,)"
       R"("smoothing_windows":1,"min_duration_ms":0}}})",
       "classes.wave.onset_threshold = \"high\": must be a number"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":1}}})",
       "classes.wave.min_duration_ms: missing"},
      {R"({"schema":1,"classes":{"wave":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":1,"min_duration_ms":0,"margin":0.1}}})",
       "classes.wave.margin: unknown key"},
      {R"({"schema":1,"classes":{"jump":{"onset_threshold":0.5,"release_threshold":0.2,)"
       R"("smoothing_windows":1,"min_duration_ms":0}}})",
       "classes.jump: not one of the model's labels"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto m = base;
    m[kCalibrationKey] = text;
    try {
      (void)model_info_from_metadata(m);
      ADD_FAILURE() << "accepted";
    } catch (const SafetensorsError& e) {
      EXPECT_MSG(std::string(e.what()), "metadata primus.calibration: ");
      EXPECT_MSG(std::string(e.what()), want);
    }
  }
}

TEST_F(ModelIo, FromEncoderKeepsEncoderAndMakesANewHead) {
  auto a = Classifier::random(info_, 5, "cpu");
  a->save(path("clf.safetensors"));
  ModelInfo other = info_;
  other.labels = {"x", "y"};
  auto b = Classifier::from_encoder(path("clf.safetensors"), other, 9, "cpu");
  EXPECT_EQ(b->num_classes(), 2);
  std::vector<float> ea(2 * 512), eb(2 * 512);
  a->encode(x_.data(), 2, 250, ea.data(), nullptr, nullptr);
  b->encode(x_.data(), 2, 250, eb.data(), nullptr, nullptr);
  EXPECT_EQ(ea, eb);
  // An encoder-only file is not a classifier.
  std::vector<F32Tensor> enc;
  const auto file = SafetensorsFile::read(path("clf.safetensors"));
  for (const auto& e : encoder_tensors())
    enc.push_back({e.name, e.shape, file.to_floats(*file.find(e.name))});
  write_safetensors(path("enc.safetensors"), enc, {{kFormatKey, kEncoderFormat}});
  EXPECT_MSG(load_error(path("enc.safetensors")), "encoder only");
  EXPECT_NO_THROW(Classifier::from_encoder(path("enc.safetensors"), info_, 1, "cpu"));
}

TEST_F(ModelIo, BadFilesGiveErrorsNamingTheProblem) {
  Classifier::random(info_, 5, "cpu")->save(path("good.safetensors"));
  std::ifstream in(path("good.safetensors"), std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  };
  EXPECT_MSG(load_error(write("trunc", good.substr(0, good.size() / 2))), "truncated");
  EXPECT_MSG(load_error(write("trunc", good.substr(0, good.size() / 2))), "trunc");
  std::string huge = good;
  huge[5] = '\x7f';
  EXPECT_MSG(load_error(write("huge", huge)), "exceeds the limit");
  std::mt19937 rng(3);
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  EXPECT_FALSE(load_error(write("noise", noise)).empty());
  EXPECT_MSG(load_error(path("missing.safetensors")), "missing.safetensors");

  // NaN-filled weights.
  auto file = SafetensorsFile::read(path("good.safetensors"));
  std::vector<F32Tensor> tensors;
  for (const auto& t : file.tensors()) tensors.push_back({t.name, t.shape, file.to_floats(t)});
  for (auto& t : tensors) {
    if (t.name == "mmcl_head.weight") std::fill(t.values.begin(), t.values.end(), NAN);
  }
  write_safetensors(path("nan.safetensors"), tensors, file.metadata());
  EXPECT_MSG(load_error(path("nan.safetensors")), "'mmcl_head.weight': non-finite");
  // Wrong shape.
  for (auto& t : tensors) {
    if (t.name == "mmcl_head.weight") t.values.assign(512 * 512, 0.0f);
    if (t.name == "head.fc.bias") {
      t.shape = {3};
      t.values.resize(3);
    }
  }
  write_safetensors(path("shape.safetensors"), tensors, file.metadata());
  EXPECT_MSG(load_error(path("shape.safetensors")), "'head.fc.bias': shape [3], expected [4]");
}

TEST_F(ModelIo, EmbedCliPrintsTheVectorOfTheCsvWindow) {
  auto clf = Classifier::random(info_, 5, "cpu");
  clf->save(path("clf.safetensors"));
  {
    std::ofstream csv(path("w.csv"));
    csv << "ax,ay,az,gx,gy,gz\n";
    for (int t = 0; t < 250; ++t) {
      for (int c = 0; c < kChannels; ++c) csv << (c ? "," : "") << x_[c * 250 + t];
      csv << "\n";
    }
  }
  std::vector<float> mmcl(512);
  clf->encode(x_.data(), 1, 250, nullptr, nullptr, mmcl.data());
  std::ostringstream out, err;
  ASSERT_EQ(
      run_embed({path("clf.safetensors"), path("w.csv"), EmbeddingChoice::kMmcl, "cpu"}, out, err),
      0)
      << err.str();
  std::stringstream line(out.str());
  std::string field;
  int i = 0;
  float worst = 0;
  while (std::getline(line, field, ',')) {
    ASSERT_LT(i, 512);
    worst = std::max(worst, std::abs(std::stof(field) - mmcl[i++]));
  }
  EXPECT_EQ(i, 512);
  EXPECT_LT(worst, 1e-6f);

  std::ofstream(path("short.csv")) << "1,2,3,4,5,6\n1,2,3,4,5,6\n";
  std::ostringstream out2, err2;
  EXPECT_EQ(run_embed({path("clf.safetensors"), path("short.csv"), EmbeddingChoice::kEmb, "cpu"},
                      out2, err2),
            1);
  EXPECT_MSG(err2.str(), "at least 123");
  std::ofstream(path("bad.csv")) << "1,2,3,4,5,6\n1,2,3,4,5\n";
  std::ostringstream out3, err3;
  EXPECT_EQ(run_embed({path("clf.safetensors"), path("bad.csv"), EmbeddingChoice::kEmb, "cpu"},
                      out3, err3),
            1);
  EXPECT_MSG(err3.str(), "bad.csv:2: 5 columns");
}

TEST_F(ModelIo, ModelInfoCliDescribesValidAndInvalidFiles) {
  Classifier::random(info_, 5, "cpu")->save(path("clf.safetensors"));
  std::ostringstream out, err;
  EXPECT_EQ(run_model_info(path("clf.safetensors"), out, err), 0) << err.str();
  EXPECT_MSG(out.str(), "valid: PRIMUS classifier (4 classes, head linear, embedding ssl");
  EXPECT_MSG(out.str(), "backbone.5.weight_hh_l0  F32  [1536, 512]");
  EXPECT_MSG(out.str(), "parameters: 1378256");  // 1,376,204 + 512*4 + 4
  write_safetensors(path("odd.safetensors"), {{"w", {2}, {1, 2}}}, {});
  std::ostringstream out2, err2;
  EXPECT_EQ(run_model_info(path("odd.safetensors"), out2, err2), 1);
  EXPECT_MSG(out2.str(), "invalid: tensor 'backbone.0.weight': missing");
}

}  // namespace
}  // namespace primus::model
