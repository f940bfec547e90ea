#include "src/model/model_cli.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>

#include "src/model/classifier.h"
#include "src/model/model_file.h"

namespace primus::model {

namespace {

bool parse_float(std::string_view s, float& v) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

int read_window_csv(const std::string& path, std::vector<float>& window) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::array<float, kChannels>> rows;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::array<float, kChannels> row{};
    std::size_t start = 0;
    int col = 0;
    bool numeric = true;
    while (true) {
      const auto comma = line.find(',', start);
      const auto field = std::string_view(line).substr(
          start, comma == std::string::npos ? std::string::npos : comma - start);
      if (col < kChannels && !parse_float(field, row[col])) numeric = false;
      ++col;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (!numeric && rows.empty() && line_no == 1) continue;  // header line
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (col != kChannels) {
      throw std::runtime_error(where + std::to_string(col) +
                               " columns, expected 6 (acc x,y,z, gyro x,y,z)");
    }
    if (!numeric) throw std::runtime_error(where + "not a row of 6 numbers");
    for (float v : row) {
      if (!std::isfinite(v)) throw std::runtime_error(where + "non-finite value");
    }
    rows.push_back(row);
  }
  const int length = static_cast<int>(rows.size());
  if (length < kMinLength) {
    throw std::runtime_error(path + ": " + std::to_string(length) +
                             " samples, the PRIMUS encoder needs at least " +
                             std::to_string(kMinLength));
  }
  window.assign(static_cast<std::size_t>(kChannels) * length, 0.0f);
  for (int t = 0; t < length; ++t) {
    for (int c = 0; c < kChannels; ++c)
      window[static_cast<std::size_t>(c) * length + t] = rows[t][c];
  }
  return length;
}

int run_embed(const EmbedOptions& options, std::ostream& out, std::ostream& err) {
  try {
    std::vector<float> window;
    const int length = read_window_csv(options.input, window);
    const auto file = open_model_file(options.weights);
    ModelInfo info = file.kind == ModelFileKind::kClassifier ? file.info : ModelInfo{};
    if (info.labels.empty()) info.labels = {"unused"};  // encoder file: the head is not used
    auto clf = Classifier::from_encoder(options.weights, info, 0, options.device);
    std::vector<float> vec(kEmbeddingDim);
    float* emb = options.output == EmbeddingChoice::kEmb ? vec.data() : nullptr;
    float* ssl = options.output == EmbeddingChoice::kSsl ? vec.data() : nullptr;
    float* mmcl = options.output == EmbeddingChoice::kMmcl ? vec.data() : nullptr;
    clf->encode(window.data(), 1, length, emb, ssl, mmcl);
    if (options.json) {
      out << nlohmann::json{{"output", to_string(options.output)},
                            {"vector", std::vector<double>(vec.begin(), vec.end())}}
                 .dump()
          << '\n';
      return 0;
    }
    std::string line;
    char buf[32];
    for (int i = 0; i < kEmbeddingDim; ++i) {
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(vec[i]));
      if (i) line += ',';
      line += buf;
    }
    out << line << '\n';
    return 0;
  } catch (const std::exception& e) {
    err << "embed: " << e.what() << '\n';
    return 1;
  }
}

namespace {

/// `model info --json`: the same facts as one JSON document; "valid" false (exit 1) with "error"
/// for a file that reads but is no PRIMUS model.
int model_info_json(const std::string& path, std::ostream& out, std::ostream& err) {
  try {
    auto file = SafetensorsFile::read(path);
    nlohmann::json doc = {{"file", path},
                          {"file_bytes", file.file_bytes()},
                          {"header_bytes", file.header_bytes()},
                          {"metadata", nlohmann::json::object()},
                          {"tensors", nlohmann::json::array()}};
    for (const auto& [k, v] : file.metadata()) doc["metadata"][k] = v;
    std::int64_t params = 0;
    for (const auto& t : file.tensors()) {
      doc["tensors"].push_back(
          {{"name", t.name}, {"dtype", to_string(t.dtype)}, {"shape", t.shape}});
      params += t.numel;
    }
    doc["parameters"] = params;
    int rc = 0;
    try {
      const auto mf = check_model_file(std::move(file));
      doc["valid"] = true;
      doc["kind"] = mf.kind == ModelFileKind::kClassifier ? "classifier" : "encoder";
      if (mf.kind == ModelFileKind::kClassifier) {
        doc["labels"] = mf.info.labels;
        doc["head"] = mf.info.head;
        doc["embedding"] = to_string(mf.info.embedding);
        doc["window_length"] = mf.info.window_length;
        doc["rate_hz"] = mf.info.rate_hz;
      }
    } catch (const SafetensorsError& e) {
      doc["valid"] = false;
      doc["error"] = e.what();
      err << "model info: " << path << ": " << e.what() << '\n';
      rc = 1;
    }
    out << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return rc;
  } catch (const std::exception& e) {
    err << "model info: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace

int run_model_info(const std::string& path, std::ostream& out, std::ostream& err, bool json) {
  if (json) return model_info_json(path, out, err);
  try {
    auto file = SafetensorsFile::read(path);
    out << "file: " << path << " (" << file.file_bytes() << " bytes, header " << file.header_bytes()
        << " bytes)\n";
    const auto& m = file.metadata();
    out << "metadata:" << (m.empty() ? " none" : "") << '\n';
    for (const auto& [k, v] : m) out << "  " << k << " = " << v << '\n';
    std::int64_t params = 0;
    out << "tensors: " << file.tensors().size() << '\n';
    for (const auto& t : file.tensors()) {
      out << "  " << t.name << "  " << to_string(t.dtype) << "  " << shape_text(t.shape) << '\n';
      params += t.numel;
    }
    out << "parameters: " << params << '\n';
    try {
      const auto mf = check_model_file(std::move(file));
      if (mf.kind == ModelFileKind::kClassifier) {
        out << "valid: PRIMUS classifier (" << mf.info.labels.size() << " classes, head "
            << mf.info.head << ", embedding " << to_string(mf.info.embedding) << ", window "
            << mf.info.window_length << " samples at " << mf.info.rate_hz << " Hz)\n";
      } else {
        out << "valid: PRIMUS encoder (no head)\n";
      }
      return 0;
    } catch (const SafetensorsError& e) {
      out << "invalid: " << e.what() << '\n';
      err << "model info: " << path << ": " << e.what() << '\n';
      return 1;
    }
  } catch (const std::exception& e) {
    err << "model info: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace primus::model
