// libFuzzer target: arbitrary bytes through the safetensors reader and the PRIMUS model-file
// checks (torch-free). Any outcome other than success or SafetensorsError is a bug; the
// sanitizers catch reads outside the input, overflows and leaks.
//
// The same bytes also go through the file reader (SafetensorsFile::read, from a memfd), which
// checks the header against the file size before reading the data: it must reach the same
// verdict as parse() and, when both accept, the same header size, metadata and tensors.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "src/model/model_file.h"
#include "src/model/safetensors.h"

namespace {

using namespace primus::model;

/// The bytes as a regular file (a memfd) named by /proc/self/fd; nullopt if that is unavailable.
std::optional<SafetensorsFile> read_as_file(const std::vector<std::byte>& bytes, bool& failed) {
  failed = false;
  const int fd = ::memfd_create("fuzz_safetensors", MFD_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) {
      ::close(fd);
      return std::nullopt;
    }
    done += static_cast<std::size_t>(w);
  }
  std::optional<SafetensorsFile> out;
  try {
    out = SafetensorsFile::read("/proc/self/fd/" + std::to_string(fd));
  } catch (const SafetensorsError&) {
    failed = true;
  }
  ::close(fd);
  return out;
}

bool same_tensors(const SafetensorsFile& a, const SafetensorsFile& b) {
  if (a.tensors().size() != b.tensors().size()) return false;
  for (std::size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.begin != y.begin ||
        x.end != y.end) {
      return false;
    }
    const auto bx = a.bytes(x);
    const auto by = b.bytes(y);
    if (bx.size() != by.size() || !std::equal(bx.begin(), bx.end(), by.begin())) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(data[i]);

  bool read_failed = false;
  const std::optional<SafetensorsFile> from_file = read_as_file(bytes, read_failed);
  const bool file_checked = from_file.has_value() || read_failed;

  std::optional<SafetensorsFile> parsed;
  try {
    parsed = SafetensorsFile::parse(std::move(bytes));
  } catch (const SafetensorsError&) {
  }
  // The file reader reaches the same verdict, and when both accept, the same content.
  if (file_checked && parsed.has_value() != from_file.has_value()) std::abort();
  if (!parsed) return 0;
  if (from_file &&
      (parsed->header_bytes() != from_file->header_bytes() ||
       parsed->file_bytes() != from_file->file_bytes() ||
       parsed->metadata() != from_file->metadata() || !same_tensors(*parsed, *from_file))) {
    std::abort();
  }
  try {
    for (const auto& t : parsed->tensors()) {
      if (t.dtype == DType::kF32) (void)parsed->to_floats(t);
    }
    (void)check_model_file(std::move(*parsed));
  } catch (const SafetensorsError&) {
  }
  return 0;
}
