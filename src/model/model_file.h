#pragma once
// What a primusd model file must hold, checked without LibTorch (so the fuzzer and
// `primusctl model info` stay light). Two kinds of safetensors file:
//   encoder    : the 15 PRIMUS encoder tensors (tools/convert_primus_ckpt.py writes these);
//                metadata primus.format = "primus-encoder-1" (or no primus.format at all).
//   classifier : encoder tensors + head.* tensors + metadata primus.format = "primus-classifier-1",
//                primus.labels (JSON array of strings), primus.embedding (mmcl|ssl|emb),
//                primus.window_length, primus.rate_hz, primus.version, primus.head (linear|mlp),
//                primus.mlp_hidden (mlp only); optional primus.calibration (JSON, the per-class
//                post-processing parameters of src/events/calibration.h; its classes must be
//                gesture labels of the file: a bad entry refuses the file with the field named,
//                a file without it loads as before).
// Every tensor is F32 with the exact shape below and finite values. Errors are
// SafetensorsError naming the tensor or metadata key. Functions are reentrant.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/safetensors.h"

namespace primus::model {

inline constexpr char kFormatKey[] = "primus.format";
inline constexpr char kEncoderFormat[] = "primus-encoder-1";
inline constexpr char kClassifierFormat[] = "primus-classifier-1";
inline constexpr char kCalibrationKey[] = "primus.calibration";

struct ExpectedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
};

/// The encoder's tensors in Python state-dict order (backbone.*, ssl_head.*, mmcl_head.*).
const std::vector<ExpectedTensor>& encoder_tensors();
/// head.fc.* (linear) or head.fc1.*, head.fc2.* (mlp) for `info`.
std::vector<ExpectedTensor> head_tensors(const ModelInfo& info);

enum class ModelFileKind { kEncoder, kClassifier };

/// Metadata of a classifier file -> ModelInfo (validated). Throws SafetensorsError naming the key.
ModelInfo model_info_from_metadata(const std::map<std::string, std::string>& metadata);
/// ModelInfo -> classifier metadata (inverse of the above).
std::map<std::string, std::string> metadata_from_model_info(const ModelInfo& info);

/// Every name in `expected` present, F32, of that shape, all values finite; any other tensor is
/// an error unless its name starts with one of `ignored_prefixes`.
void check_tensors(const SafetensorsFile& file, const std::vector<ExpectedTensor>& expected,
                   const std::vector<std::string>& ignored_prefixes = {});

struct ModelFile {
  ModelFileKind kind = ModelFileKind::kEncoder;
  ModelInfo info;  ///< classifier files only
  SafetensorsFile file;
};

/// Kind from primus.format; then the full check (a classifier's head shapes follow its
/// metadata). Throws SafetensorsError.
ModelFile check_model_file(SafetensorsFile file);
/// read() then check_model_file(); errors prefixed with the path.
ModelFile open_model_file(const std::filesystem::path& path);

}  // namespace primus::model
