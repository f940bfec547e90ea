#pragma once
// The logic of `primusctl embed` and `primusctl model info`, as library functions (no LibTorch in
// this header; the CLI11 wiring lives in daemon/primusctl.cpp). Both write results to `out`,
// diagnostics to `err`, and return the process exit status: 0 success, 1 failure (bad file, bad
// CSV, bad option), never throwing. Reentrant; each call builds and frees its own model.
#include <iosfwd>
#include <string>
#include <vector>

#include "src/config/config.h"

namespace primus::model {

struct EmbedOptions {
  std::string weights;  ///< safetensors file: an encoder file or a classifier file
  std::string input;    ///< CSV: 6 columns (acc x,y,z m/s², gyro x,y,z rad/s), T >= 123 rows
  EmbeddingChoice output = EmbeddingChoice::kMmcl;  ///< which encoder output to print
  std::string device = "cpu";                       ///< auto | cpu | cuda | cuda:N
  bool json = false;  ///< print {"output": "mmcl", "vector": [512 numbers]} instead of CSV
};

/// Prints the chosen 512-d vector as one CSV line ("%.9g", enough to round-trip float32), or
/// with options.json as one line of JSON.
int run_embed(const EmbedOptions& options, std::ostream& out, std::ostream& err);

/// Prints the file's kind, metadata, tensors (name, dtype, shape) and whether it is a valid
/// PRIMUS model file; exit status 1 when it is not. With `json`: one line of JSON {"file",
/// "file_bytes", "header_bytes", "metadata", "tensors", "parameters", "valid", "kind" | "error",
/// and for a classifier "labels", "head", "embedding", "window_length", "rate_hz"}.
int run_model_info(const std::string& path, std::ostream& out, std::ostream& err,
                   bool json = false);

/// Parses a window CSV: one optional header line (any non-numeric first line), then rows of
/// exactly 6 comma-separated finite numbers. Returns [6, T] channel-major floats in `window`
/// and T. Throws std::runtime_error naming the line.
int read_window_csv(const std::string& path, std::vector<float>& window);

}  // namespace primus::model
