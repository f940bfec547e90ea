// libFuzzer target: arbitrary bytes through the safetensors reader and the PRIMUS model-file
// checks (torch-free). Any outcome other than success or SafetensorsError is a bug; the
// sanitizers catch reads outside the input, overflows and leaks.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/model/model_file.h"
#include "src/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace primus::model;
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(data[i]);
  try {
    auto file = SafetensorsFile::parse(std::move(bytes));
    for (const auto& t : file.tensors()) {
      if (t.dtype == DType::kF32) (void)file.to_floats(t);
    }
    (void)check_model_file(std::move(file));
  } catch (const SafetensorsError&) {
  }
  return 0;
}
