// The safetensors reader/writer and the PRIMUS model-file checks (torch-free code), fed with
// valid files and with every kind of malformed one: each must give a SafetensorsError naming
// the problem, never a crash.
#include "src/model/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "src/model/model_file.h"

namespace primus::model {
namespace {

std::vector<std::byte> raw_file(const std::string& header, std::size_t data_bytes,
                                std::uint64_t declared = UINT64_MAX) {
  const std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// Runs parse() and returns the error message ("" if it parsed).
std::string parse_error(std::vector<std::byte> bytes) {
  try {
    (void)SafetensorsFile::parse(std::move(bytes));
    return "";
  } catch (const SafetensorsError& e) {
    return e.what();
  }
}

std::string check_error(std::vector<std::byte> bytes) {
  try {
    (void)check_model_file(SafetensorsFile::parse(std::move(bytes)));
    return "";
  } catch (const SafetensorsError& e) {
    return e.what();
  }
}

std::vector<F32Tensor> encoder_like(float fill = 0.5f) {
  std::vector<F32Tensor> out;
  for (const auto& e : encoder_tensors()) {
    std::int64_t n = 1;
    for (auto d : e.shape) n *= d;
    out.push_back({e.name, e.shape, std::vector<float>(static_cast<std::size_t>(n), fill)});
  }
  return out;
}

#define EXPECT_MSG(msg, needle) \
  EXPECT_NE((msg).find(needle), std::string::npos) << "message: '" << (msg) << "'"

TEST(Safetensors, RoundTripKeepsNamesShapesValuesAndMetadata) {
  std::vector<F32Tensor> in{
      {"b", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"a", {1}, {-0.25f}}, {"empty", {0, 4}, {}}};
  const auto bytes = serialize_safetensors(in, {{"k", "v"}});
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const auto f = SafetensorsFile::parse(bytes);
  EXPECT_EQ(f.metadata().at("k"), "v");
  ASSERT_EQ(f.tensors().size(), 3u);
  const auto* b = f.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(b->numel, 6);
  EXPECT_EQ(f.to_floats(*b), in[0].values);
  EXPECT_EQ(f.to_floats(*f.find("a")), in[1].values);
  EXPECT_EQ(f.find("empty")->numel, 0);
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, WriteIsAtomicAndReadable) {
  const auto dir = std::filesystem::path(testing::TempDir()) / "st_write";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "m.safetensors";
  write_safetensors(path, {{"x", {2}, {1, 2}}}, {});
  write_safetensors(path, {{"x", {3}, {1, 2, 3}}}, {});  // replaces
  EXPECT_EQ(SafetensorsFile::read(path).find("x")->numel, 3);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);  // no temporary left behind
  EXPECT_THROW(write_safetensors(dir / "no" / "such" / "dir.safetensors", {}, {}),
               SafetensorsError);
  try {
    (void)SafetensorsFile::read(dir / "absent.safetensors");
    ADD_FAILURE();
  } catch (const SafetensorsError& e) {
    EXPECT_MSG(std::string(e.what()), "absent.safetensors");
  }
}

TEST(Safetensors, WriterRejectsInconsistentTensors) {
  EXPECT_THROW(serialize_safetensors({{"x", {2, 2}, {1, 2, 3}}}, {}), SafetensorsError);
  EXPECT_THROW(serialize_safetensors({{"x", {1}, {1}}, {"x", {1}, {1}}}, {}), SafetensorsError);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", {1}, {1}}}, {}), SafetensorsError);
}

TEST(Safetensors, TruncatedFilesAreRejectedAtEveryCut) {
  const auto good = serialize_safetensors({{"w", {4, 4}, std::vector<float>(16, 1.0f)}}, {});
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    const auto msg = parse_error({good.begin(), good.begin() + static_cast<long>(cut)});
    EXPECT_FALSE(msg.empty()) << "cut at " << cut;
  }
  EXPECT_MSG(parse_error({good.begin(), good.begin() + 5}), "truncated");
  EXPECT_MSG(parse_error({good.begin(), good.begin() + 20}), "truncated");
  EXPECT_MSG(parse_error({good.begin(), good.end() - 4}), "'w'");
}

TEST(Safetensors, HeaderLengthBounds) {
  EXPECT_MSG(parse_error(raw_file("{}", 0, 1ull << 40)), "exceeds the limit");
  EXPECT_MSG(parse_error(raw_file("{}", 0, 1000)), "truncated");
  EXPECT_MSG(parse_error(raw_file("{}", 0, 1)), "too small");
  EXPECT_EQ(parse_error(raw_file("{}", 0)), "");
  EXPECT_EQ(parse_error(raw_file("{}      ", 0)), "");  // space padding is allowed
}

TEST(Safetensors, MalformedHeadersNameTheProblem) {
  const std::string ok = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
  EXPECT_EQ(parse_error(raw_file("{\"t\":{" + ok + "}}", 8)), "");
  EXPECT_MSG(parse_error(raw_file("[1,2]", 0)), "'{'");
  EXPECT_MSG(parse_error(raw_file("{\"t\":", 0)), "invalid JSON");
  EXPECT_MSG(parse_error(raw_file("{\"t\":[[[[[]]]]]}", 0)), "nested");
  EXPECT_MSG(parse_error(raw_file("{\"t\":{" + ok + "},\"t\":{" + ok + "}}", 8)), "twice");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}})", 8)),
             "unknown dtype 'Q8'");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
             "'t': shape must hold non-negative integers");
  EXPECT_MSG(
      parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8)),
      "non-negative integers");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             "'t': 8 bytes for a F32 tensor of shape [3] that needs 12");
  EXPECT_MSG(
      parse_error(raw_file(
          R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
      "needs more");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
             "begin > end");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8)),
             "run past");
  EXPECT_MSG(parse_error(raw_file(R"({"t":{"dtype":"F32","shape":[2]}})", 8)), "data_offsets");
  EXPECT_MSG(parse_error(raw_file("{\"t\":{" + ok + ",\"extra\":1}}", 8)), "'extra'");
  EXPECT_MSG(parse_error(raw_file(R"({"__metadata__":{"a":1}})", 0)), "must be a string");
  EXPECT_MSG(parse_error(raw_file("{\"t\":{" + ok + "}}", 12)), "4 trailing bytes");
  EXPECT_MSG(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                      "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                  8)),
             "overlaps");
  EXPECT_MSG(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
             "unreferenced");
  EXPECT_MSG(parse_error(raw_file("{\"\xff\":1}", 0)), "invalid JSON");
}

TEST(Safetensors, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12345);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::byte> bytes(rng() % 200);
    for (auto& b : bytes) b = static_cast<std::byte>(rng());
    if (bytes.size() >= 8 && i % 2 == 0) {  // plausible length so the JSON parser runs too
      const std::uint64_t n = rng() % (bytes.size() - 7);
      std::memcpy(bytes.data(), &n, 8);
      if (n > 0) bytes[8] = std::byte{'{'};
    }
    rejected += parse_error(std::move(bytes)).empty() ? 0 : 1;
  }
  EXPECT_EQ(rejected, 3000);
}

TEST(ModelFile, EncoderFileFromWriterPassesAndBadTensorsAreNamed) {
  EXPECT_EQ(check_error(serialize_safetensors(encoder_like(), {})), "");
  EXPECT_EQ(check_error(serialize_safetensors(encoder_like(), {{kFormatKey, kEncoderFormat}})), "");

  auto t = encoder_like();
  t[8].shape = {512, 1536};  // backbone.5.weight_hh_l0 transposed
  EXPECT_MSG(check_error(serialize_safetensors(t, {})),
             "tensor 'backbone.5.weight_hh_l0': shape [512,1536], expected [1536,512]");

  t = encoder_like();
  t[3].values[17] = std::nanf("");
  EXPECT_MSG(check_error(serialize_safetensors(t, {})),
             "tensor 'backbone.2.net.0.weight': non-finite value (NaN or Inf) at element 17");

  t = encoder_like(std::nanf(""));
  EXPECT_MSG(check_error(serialize_safetensors(t, {})), "'backbone.0.weight': non-finite");

  t = encoder_like();
  t.erase(t.begin() + 12);
  EXPECT_MSG(check_error(serialize_safetensors(t, {})), "tensor 'ssl_head.bias': missing");

  t = encoder_like();
  t.push_back({"imu_encoder.extra", {1}, {0}});
  EXPECT_MSG(check_error(serialize_safetensors(t, {})), "'imu_encoder.extra': unexpected");

  EXPECT_MSG(check_error(serialize_safetensors(encoder_like(), {{kFormatKey, "pickle"}})),
             "primus.format = 'pickle'");
}

TEST(ModelFile, WrongDtypeIsNamed) {
  // backbone.0.bias as F16 [12] (the same 24 bytes) in an otherwise valid encoder file.
  const auto good = serialize_safetensors(encoder_like(), {});
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  std::string header(reinterpret_cast<const char*>(good.data() + 8), n);
  const auto pos = header.find("\"backbone.0.bias\"");
  ASSERT_NE(pos, std::string::npos);
  const std::string from = R"("dtype":"F32","shape":[6])";
  const auto at = header.find(from, pos);
  ASSERT_NE(at, std::string::npos) << header.substr(pos, 100);
  header.replace(at, from.size(), R"("dtype":"F16","shape":[12])");
  const std::vector<std::byte> data(good.begin() + 8 + static_cast<long>(n), good.end());
  auto bad = raw_file(header, data.size());
  std::memcpy(bad.data() + 8 + header.size(), data.data(), data.size());
  EXPECT_MSG(check_error(bad), "tensor 'backbone.0.bias': dtype F16, expected F32");
}

TEST(ModelFile, ClassifierMetadataRoundTripsAndIsValidated) {
  ModelInfo info;
  info.labels = {"null", "wave \"big\"", "ö"};
  info.embedding = EmbeddingChoice::kEmb;
  info.window_length = 200;
  info.rate_hz = 52.5;
  info.version = "7";
  info.head = "mlp";
  info.mlp_hidden = 64;
  const auto m = metadata_from_model_info(info);
  const auto back = model_info_from_metadata(m);
  EXPECT_EQ(back.labels, info.labels);
  EXPECT_EQ(back.embedding, info.embedding);
  EXPECT_EQ(back.window_length, 200);
  EXPECT_EQ(back.rate_hz, 52.5);
  EXPECT_EQ(back.version, "7");
  EXPECT_EQ(back.head, "mlp");
  EXPECT_EQ(back.mlp_hidden, 64);

  auto bad = m;
  bad["primus.window_length"] = "100";
  EXPECT_THROW(model_info_from_metadata(bad), SafetensorsError);
  bad = m;
  bad["primus.labels"] = "[1]";
  EXPECT_THROW(model_info_from_metadata(bad), SafetensorsError);
  bad = m;
  bad["primus.embedding"] = "clip";
  EXPECT_THROW(model_info_from_metadata(bad), SafetensorsError);
  bad = m;
  bad.erase("primus.head");
  try {
    model_info_from_metadata(bad);
    ADD_FAILURE();
  } catch (const SafetensorsError& e) {
    EXPECT_MSG(std::string(e.what()), "primus.head: missing");
  }
  bad = m;
  bad["primus.rate_hz"] = "fast";
  EXPECT_THROW(model_info_from_metadata(bad), SafetensorsError);

  // A classifier file whose head does not match its labels.
  auto t = encoder_like();
  t.push_back({"head.fc1.weight", {64, 512}, std::vector<float>(64 * 512)});
  t.push_back({"head.fc1.bias", {64}, std::vector<float>(64)});
  t.push_back({"head.fc2.weight", {2, 64}, std::vector<float>(128)});
  t.push_back({"head.fc2.bias", {2}, std::vector<float>(2)});
  EXPECT_MSG(check_error(serialize_safetensors(t, m)),
             "tensor 'head.fc2.weight': shape [2,64], expected [3,64]");
}

}  // namespace
}  // namespace primus::model
