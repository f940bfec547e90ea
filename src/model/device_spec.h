#pragma once
// Parsing of the model device setting ("auto" | "cpu" | "cuda" | "cuda:N"), torch-free so the
// config validator can use it. Resolving against the hardware happens in the classifier.
#include <string>

namespace primus::model {

struct DeviceSpec {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = 0;  ///< CUDA ordinal, >= 0 (0 for "cuda")
};

/// Throws std::invalid_argument("device 'x': expected auto, cpu, cuda or cuda:N") on anything
/// else (case-sensitive, no spaces, N a decimal ordinal < 1000).
DeviceSpec parse_device_spec(const std::string& s);

}  // namespace primus::model
