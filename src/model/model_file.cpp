#include "src/model/model_file.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace primus::model {

namespace {

[[noreturn]] void fail(const std::string& message) { throw SafetensorsError(message); }

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

const std::string& meta(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  if (it == m.end()) fail("metadata " + key + ": missing");
  return it->second;
}

int meta_int(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto& s = meta(m, key);
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    fail("metadata " + key + " = '" + s + "': not an integer");
  }
  return v;
}

double meta_double(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto& s = meta(m, key);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    fail("metadata " + key + " = '" + s + "': not a number");
  }
  return v;
}

}  // namespace

const std::vector<ExpectedTensor>& encoder_tensors() {
  static const std::vector<ExpectedTensor> tensors{
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
  return tensors;
}

std::vector<ExpectedTensor> head_tensors(const ModelInfo& info) {
  const auto classes = static_cast<std::int64_t>(info.labels.size());
  if (info.head == "mlp") {
    const std::int64_t h = info.mlp_hidden;
    return {{"head.fc1.weight", {h, kEmbeddingDim}},
            {"head.fc1.bias", {h}},
            {"head.fc2.weight", {classes, h}},
            {"head.fc2.bias", {classes}}};
  }
  return {{"head.fc.weight", {classes, kEmbeddingDim}}, {"head.fc.bias", {classes}}};
}

ModelInfo model_info_from_metadata(const std::map<std::string, std::string>& m) {
  ModelInfo info;
  const auto& labels_text = meta(m, "primus.labels");
  nlohmann::json labels = nlohmann::json::parse(labels_text, nullptr, /*allow_exceptions=*/false);
  if (!labels.is_array()) fail("metadata primus.labels: not a JSON array of strings");
  for (const auto& l : labels) {
    if (!l.is_string()) fail("metadata primus.labels: not a JSON array of strings");
    info.labels.push_back(l.get<std::string>());
  }
  try {
    info.embedding = parse_embedding_choice(meta(m, "primus.embedding"));
  } catch (const std::invalid_argument& e) {
    fail(std::string("metadata primus.embedding: ") + e.what());
  }
  info.window_length = meta_int(m, "primus.window_length");
  info.rate_hz = meta_double(m, "primus.rate_hz");
  info.version = meta(m, "primus.version");
  info.head = meta(m, "primus.head");
  if (info.head == "mlp") info.mlp_hidden = meta_int(m, "primus.mlp_hidden");
  try {
    validate_model_info(info);
  } catch (const std::invalid_argument& e) {
    fail(std::string("metadata: ") + e.what());
  }
  if (const auto it = m.find(kCalibrationKey); it != m.end()) {
    try {
      auto cal = events::parse_calibration(it->second);
      // The null class is found by name only at run time ([events] null_label): refuse only
      // labels the model does not have here.
      events::check_calibration_labels(cal, info.labels, "");
      info.calibration = std::move(cal);
    } catch (const events::CalibrationError& e) {
      fail(std::string("metadata ") + kCalibrationKey + ": " + e.what());
    }
  }
  return info;
}

std::map<std::string, std::string> metadata_from_model_info(const ModelInfo& info) {
  std::map<std::string, std::string> m;
  m[kFormatKey] = kClassifierFormat;
  m["primus.labels"] = nlohmann::json(info.labels).dump();
  m["primus.embedding"] = to_string(info.embedding);
  m["primus.window_length"] = std::to_string(info.window_length);
  char rate[64];
  const auto [end, ec] = std::to_chars(rate, rate + sizeof rate, info.rate_hz);
  m["primus.rate_hz"] = std::string(rate, ec == std::errc() ? end : rate);
  m["primus.version"] = info.version;
  m["primus.head"] = info.head;
  if (info.head == "mlp") m["primus.mlp_hidden"] = std::to_string(info.mlp_hidden);
  if (info.calibration) m[kCalibrationKey] = events::to_json(*info.calibration).dump();
  return m;
}

void check_tensors(const SafetensorsFile& file, const std::vector<ExpectedTensor>& expected,
                   const std::vector<std::string>& ignored_prefixes) {
  for (const auto& e : expected) {
    const TensorEntry* t = file.find(e.name);
    if (t == nullptr) fail("tensor '" + e.name + "': missing");
    if (t->dtype != DType::kF32) {
      fail("tensor '" + e.name + "': dtype " + to_string(t->dtype) + ", expected F32");
    }
    if (t->shape != e.shape) {
      fail("tensor '" + e.name + "': shape " + shape_text(t->shape) + ", expected " +
           shape_text(e.shape));
    }
    const auto raw = file.bytes(*t);
    for (std::size_t i = 0; i < raw.size(); i += sizeof(float)) {
      float v = 0;
      std::memcpy(&v, raw.data() + i, sizeof v);
      if (!std::isfinite(v)) {
        fail("tensor '" + e.name + "': non-finite value (NaN or Inf) at element " +
             std::to_string(i / sizeof(float)));
      }
    }
  }
  for (const auto& t : file.tensors()) {
    bool known = false;
    for (const auto& e : expected) known = known || e.name == t.name;
    for (const auto& p : ignored_prefixes) known = known || t.name.starts_with(p);
    if (!known) fail("tensor '" + t.name + "': unexpected in a PRIMUS model file");
  }
}

ModelFile check_model_file(SafetensorsFile file) {
  ModelFile out{ModelFileKind::kEncoder, {}, std::move(file)};
  const auto& m = out.file.metadata();
  const auto it = m.find(kFormatKey);
  if (it == m.end() || it->second == kEncoderFormat) {
    check_tensors(out.file, encoder_tensors());
    return out;
  }
  if (it->second != kClassifierFormat) {
    fail(std::string("metadata ") + kFormatKey + " = '" + it->second + "': expected " +
         kEncoderFormat + " or " + kClassifierFormat);
  }
  out.kind = ModelFileKind::kClassifier;
  out.info = model_info_from_metadata(m);
  auto expected = encoder_tensors();
  for (auto& h : head_tensors(out.info)) expected.push_back(std::move(h));
  check_tensors(out.file, expected);
  return out;
}

ModelFile open_model_file(const std::filesystem::path& path) {
  auto file = SafetensorsFile::read(path);
  try {
    return check_model_file(std::move(file));
  } catch (const SafetensorsError& e) {
    throw SafetensorsError(path.string() + ": " + e.what());
  }
}

}  // namespace primus::model
