#pragma once
// Reading NumPy .npy arrays and .npz archives (numpy.savez / savez_compressed) without Python.
//
// Accepted: .npy format versions 1.0, 2.0 and 3.0; C order (fortran_order False); little-endian
// or byte-order-free dtypes: bool (|b1), signed and unsigned integers of 1, 2, 4, 8 bytes, float32
// and float64, unicode strings (<U n, UTF-32LE) and byte strings (|S n). Refused, with the array
// and the reason named: object arrays (pickles are never run), big-endian data, Fortran order,
// a header that is not a plain dict literal, a data length that does not match the shape.
// .npz: a zip archive (stored or deflated entries, no ZIP64, no encryption, no multi-disk) whose
// entries are NAME.npy; every entry is bounds-checked against the archive before it is read, and
// the total uncompressed size is capped (max_bytes), so a crafted archive cannot make the reader
// read out of bounds, loop or allocate without limit.
//
// Errors: std::runtime_error naming the file (or "npz" for buffers), the entry and the problem.
// Threads: pure functions; any thread.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace primus::dataio {

struct NpyArray {
  char kind = 'f';    ///< 'b' bool, 'i' signed, 'u' unsigned, 'f' float, 'U' unicode, 'S' bytes
  int item_size = 4;  ///< bytes per element (U: 4 per character)
  std::vector<std::uint64_t> shape;  ///< C order; empty for a scalar
  std::vector<unsigned char> bytes;  ///< item_size * size() bytes, little-endian

  [[nodiscard]] std::uint64_t size() const noexcept;  ///< elements (product of shape)
  [[nodiscard]] bool is_text() const noexcept { return kind == 'U' || kind == 'S'; }
  /// Element i of a numeric array as double. Throws std::out_of_range for a bad index and
  /// std::runtime_error for a text array.
  [[nodiscard]] double number(std::uint64_t i) const;
  /// Element i of a text array (UTF-8; trailing NULs removed) or of a numeric one (printed: an
  /// integral value without decimals).
  [[nodiscard]] std::string text(std::uint64_t i) const;
};

/// One .npy file's bytes. `name` is used in errors.
[[nodiscard]] NpyArray parse_npy(const unsigned char* data, std::size_t n, const std::string& name);

/// Every NAME.npy entry of a .npz archive in memory, keyed by NAME. Entries not ending in .npy
/// are ignored. Throws when the uncompressed total would exceed max_bytes.
[[nodiscard]] std::map<std::string, NpyArray> parse_npz(const unsigned char* data, std::size_t n,
                                                        std::uint64_t max_bytes);

/// Reads a .npz file (at most max_bytes on disk and uncompressed). Errors name the file.
[[nodiscard]] std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path,
                                                       std::uint64_t max_bytes = 1ULL << 30);

}  // namespace primus::dataio
