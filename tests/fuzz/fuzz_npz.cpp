// libFuzzer target: arbitrary bytes through the .npz (zip) and .npy readers of src/dataio/npz.h.
// Any outcome other than success or std::runtime_error is a bug; the sanitizers catch reads
// outside the input, overflows and leaks. Accepted arrays are read element by element, so a
// header that lies about the data length would show as an out-of-bounds read.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "src/dataio/npz.h"

namespace {

void touch(const primus::dataio::NpyArray& a) {
  const std::uint64_t n = a.size() < 64 ? a.size() : 64;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (a.is_text())
      (void)a.text(i);
    else
      (void)a.number(i);
  }
  if (a.size() > 0) {
    if (a.is_text())
      (void)a.text(a.size() - 1);
    else
      (void)a.number(a.size() - 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    for (const auto& [name, a] : primus::dataio::parse_npz(data, size, 1 << 24)) touch(a);
  } catch (const std::runtime_error&) {
  }
  try {
    touch(primus::dataio::parse_npy(data, size, "fuzz"));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
