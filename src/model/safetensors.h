#pragma once
// A strict reader and writer of safetensors files (no LibTorch, no pickle):
//   [u64 little-endian N][N bytes of JSON header][data buffer]
// header = {"__metadata__": {"key": "string", ...}?, "<name>": {"dtype": "F32", "shape": [..],
//           "data_offsets": [begin, end]}, ...}, offsets relative to the data buffer.
//
// The reader validates everything before returning: header length within bounds and within the
// file, well-formed JSON object, known dtype, non-negative shape, byte size = elements × dtype
// size (no overflow), offsets inside the buffer, tensors covering the buffer without gaps or
// overlaps, string-only metadata. The first problem is thrown as SafetensorsError naming the
// tensor (or key). It never reads outside the bytes it was given.
//
// Reading a file (read()) is bounded by what the file declares, in this order, so that a hostile
// or damaged file (a sparse 4 GiB file, a header declaring a huge tensor) costs a few syscalls
// and at most kMaxHeaderBytes of memory before it is refused:
//   1. open (O_NONBLOCK: a FIFO cannot block it), fstat: must be a regular file;
//   2. read the 8-byte header length; check it against kMaxHeaderBytes and the file size;
//   3. check the file size against kMaxFileBytes;
//   4. read and parse the header; check the declared tensor extents against the file size;
//   5. only then read the data buffer (exactly the bytes the header declares).
//
// Thread contract: SafetensorsFile is an immutable value after construction; const access from
// several threads is safe. Functions are reentrant.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace primus::model {

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

/// "F32", "I64", ... as in the format.
const char* to_string(DType d) noexcept;
/// Bytes per element.
std::size_t dtype_size(DType d) noexcept;

/// Header length limit: 16 MiB. A PRIMUS header is a few KiB (the format's reference reader
/// allows 100 MB; nothing this project reads comes near either).
inline constexpr std::uint64_t kMaxHeaderBytes = 16u * 1024u * 1024u;
/// Largest file read() and parse() accept: 1 GiB. A PRIMUS classifier is about 5.5 MB; the
/// limit bounds the memory a model load may take (the file is held in memory whole).
inline constexpr std::uint64_t kMaxFileBytes = 1ull * 1024u * 1024u * 1024u;

struct TensorEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  ///< byte offset into the data buffer
  std::uint64_t end = 0;    ///< one past the last byte
  std::int64_t numel = 0;   ///< element count (product of shape)
};

class SafetensorsFile {
 public:
  /// Parses and validates `bytes` (takes ownership; the fuzz target's entry point). Throws
  /// SafetensorsError.
  static SafetensorsFile parse(std::vector<std::byte> bytes);
  /// Reads and validates a file in the bounded order described at the top of this header: the
  /// data buffer is read only after the header has been checked against the file. Throws
  /// SafetensorsError; every message starts with the path.
  static SafetensorsFile read(const std::filesystem::path& path);

  [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// In data-offset order.
  [[nodiscard]] const std::vector<TensorEntry>& tensors() const { return tensors_; }
  /// nullptr when absent.
  [[nodiscard]] const TensorEntry* find(const std::string& name) const;
  /// The raw little-endian bytes of `t` (a reference into this object).
  [[nodiscard]] std::span<const std::byte> bytes(const TensorEntry& t) const;
  /// Copies a F32 tensor out; throws SafetensorsError naming it if its dtype is not F32.
  [[nodiscard]] std::vector<float> to_floats(const TensorEntry& t) const;
  [[nodiscard]] std::size_t header_bytes() const { return header_bytes_; }
  [[nodiscard]] std::size_t file_bytes() const { return bytes_.size(); }

 private:
  std::vector<std::byte> bytes_;
  std::size_t data_start_ = 0;
  std::size_t header_bytes_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorEntry> tensors_;
};

/// A float32 tensor to write. `values.size()` must equal the product of `shape`.
struct F32Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

/// The file's bytes: header padded with spaces to a multiple of 8, tensors in the given order.
/// Throws SafetensorsError on duplicate/empty/"__metadata__" names or size mismatches.
std::vector<std::byte> serialize_safetensors(const std::vector<F32Tensor>& tensors,
                                             const std::map<std::string, std::string>& metadata);
/// serialize_safetensors, written to `<path>.tmp-XXXXXX` in the same directory, fsynced, renamed
/// over `path`, directory fsynced: readers see the old file or the new one, never a torn one.
void write_safetensors(const std::filesystem::path& path, const std::vector<F32Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace primus::model
