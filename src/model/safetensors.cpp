#include "src/model/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace primus::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies it as is");

namespace {

using json = nlohmann::json;

struct DTypeName {
  DType dtype;
  const char* name;
  std::size_t size;
};
constexpr DTypeName kDTypes[] = {
    {DType::kF64, "F64", 8},   {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

[[noreturn]] void fail(const std::string& message) { throw SafetensorsError(message); }

std::string printable(const std::string& name) {
  // Names come from untrusted files: keep messages printable and short.
  std::string out = "'";
  for (std::size_t i = 0; i < name.size() && i < 120; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (name.size() > 120) out += "...";
  return out + "'";
}

// The only valid nesting is object > object > array (depth 3). Rejecting deeper text before
// parsing bounds the parser's and the destructor's work on hostile input.
void check_nesting(const char* p, std::size_t n) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > 3) fail("header: JSON nested deeper than a safetensors header can be");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

DType parse_dtype(const std::string& name, const json& v) {
  if (!v.is_string()) fail("tensor " + printable(name) + ": dtype must be a string");
  const auto& s = v.get_ref<const std::string&>();
  for (const auto& d : kDTypes) {
    if (s == d.name) return d.dtype;
  }
  fail("tensor " + printable(name) + ": unknown dtype " + printable(s));
}

std::uint64_t as_u64(const std::string& name, const char* field, const json& v) {
  if (!v.is_number_unsigned()) {
    fail("tensor " + printable(name) + ": " + field + " must hold non-negative integers");
  }
  return v.get<std::uint64_t>();
}

}  // namespace

const char* to_string(DType d) noexcept {
  for (const auto& e : kDTypes) {
    if (e.dtype == d) return e.name;
  }
  return "?";
}

std::size_t dtype_size(DType d) noexcept {
  for (const auto& e : kDTypes) {
    if (e.dtype == d) return e.size;
  }
  return 0;
}

namespace {

/// The parsed header: metadata and tensors (sorted by data offset).
struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<TensorEntry> tensors;
};

void check_has_length(std::uint64_t size) {
  if (size < 8) {
    fail("truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
}

void check_file_limit(std::uint64_t size) {
  if (size > kMaxFileBytes) {
    fail(std::to_string(size) + " bytes, larger than the limit of " +
         std::to_string(kMaxFileBytes) + " bytes");
  }
}

/// The header length `n` read from the first 8 bytes of a file of `size` (>= 8) bytes.
void check_header_length(std::uint64_t n, std::uint64_t size) {
  if (n < 2) fail("header length " + std::to_string(n) + " is too small for a JSON object");
  if (n > kMaxHeaderBytes) {
    fail("header length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (n > size - 8) {
    fail("truncated: header length " + std::to_string(n) + " but only " + std::to_string(size - 8) +
         " bytes follow");
  }
}

/// Parses and validates the `n` header bytes at `text`, for a data buffer of `data_size` bytes:
/// every tensor must lie inside it and together they must cover it exactly.
Header parse_header(const char* text, std::size_t n, std::uint64_t data_size) {
  Header h;
  if (text[0] != '{') fail("header: does not start with '{'");
  check_nesting(text, n);

  std::set<std::string> top_keys;
  std::string duplicate;
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && duplicate.empty() &&
        !top_keys.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, on_event);
  } catch (const json::exception& e) {
    fail(std::string("header: invalid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail("header: tensor " + printable(duplicate) + " appears twice");
  if (!header.is_object()) fail("header: not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("header: __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          fail("header: __metadata__ " + printable(m.key()) + " must be a string");
        }
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (name.empty()) fail("header: empty tensor name");
    if (!v.is_object()) fail("tensor " + printable(name) + ": entry must be an object");
    for (auto k = v.begin(); k != v.end(); ++k) {
      if (k.key() != "dtype" && k.key() != "shape" && k.key() != "data_offsets") {
        fail("tensor " + printable(name) + ": unexpected field " + printable(k.key()));
      }
    }
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      fail("tensor " + printable(name) + ": needs dtype, shape and data_offsets");
    }
    TensorEntry t;
    t.name = name;
    t.dtype = parse_dtype(name, v["dtype"]);
    const json& shape = v["shape"];
    if (!shape.is_array()) fail("tensor " + printable(name) + ": shape must be an array");
    if (shape.size() > 8) fail("tensor " + printable(name) + ": more than 8 dimensions");
    // Element count, saturated at data_size + 1 so that it cannot overflow.
    const std::uint64_t too_many = data_size + 1;
    std::uint64_t elements = 1;
    bool empty = false;
    for (const auto& d : shape) {
      const std::uint64_t dim = as_u64(name, "shape", d);
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail("tensor " + printable(name) + ": dimension too large");
      }
      t.shape.push_back(static_cast<std::int64_t>(dim));
      if (dim == 0) {
        empty = true;
      } else {
        elements = (dim > too_many / elements) ? too_many : std::min(elements * dim, too_many);
      }
    }
    if (empty) elements = 0;
    const json& offs = v["data_offsets"];
    if (!offs.is_array() || offs.size() != 2) {
      fail("tensor " + printable(name) + ": data_offsets must be [begin, end]");
    }
    t.begin = as_u64(name, "data_offsets", offs[0]);
    t.end = as_u64(name, "data_offsets", offs[1]);
    if (t.begin > t.end) fail("tensor " + printable(name) + ": data_offsets begin > end");
    if (t.end > data_size) {
      fail("tensor " + printable(name) + ": data_offsets [" + std::to_string(t.begin) + ", " +
           std::to_string(t.end) + "] run past the " + std::to_string(data_size) +
           "-byte data buffer (truncated file?)");
    }
    const std::uint64_t want = elements * dtype_size(t.dtype);
    if (elements > data_size || want != t.end - t.begin) {
      fail("tensor " + printable(name) + ": " + std::to_string(t.end - t.begin) + " bytes for a " +
           to_string(t.dtype) + " tensor of shape " + shape.dump() + " that needs " +
           (elements > data_size ? std::string("more") : std::to_string(want)));
    }
    t.numel = static_cast<std::int64_t>(elements);
    h.tensors.push_back(std::move(t));
  }

  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const TensorEntry* previous = nullptr;
  for (const auto& t : h.tensors) {
    if (t.begin < cursor) {
      fail("tensor " + printable(t.name) + ": data overlaps tensor " + printable(previous->name));
    }
    if (t.begin > cursor) {
      fail("tensor " + printable(t.name) + ": " + std::to_string(t.begin - cursor) +
           " unreferenced bytes before its data");
    }
    cursor = t.end;
    previous = &t;
  }
  if (cursor != data_size) {
    fail(std::to_string(data_size - cursor) + " trailing bytes after the last tensor");
  }
  return h;
}

}  // namespace

SafetensorsFile SafetensorsFile::parse(std::vector<std::byte> bytes) {
  SafetensorsFile f;
  f.bytes_ = std::move(bytes);
  const std::uint64_t size = f.bytes_.size();
  check_has_length(size);
  const std::uint64_t n = read_u64_le(f.bytes_.data());
  check_header_length(n, size);
  check_file_limit(size);
  f.header_bytes_ = static_cast<std::size_t>(n);
  f.data_start_ = 8 + f.header_bytes_;
  Header h = parse_header(reinterpret_cast<const char*>(f.bytes_.data() + 8), f.header_bytes_,
                          size - f.data_start_);
  f.metadata_ = std::move(h.metadata);
  f.tensors_ = std::move(h.tensors);
  return f;
}

namespace {

/// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Reads exactly n bytes at offset, or throws (a file that shrank is "truncated").
void pread_all(int fd, std::byte* p, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(std::string("read failed: ") + std::strerror(errno));
    }
    if (r == 0) fail("truncated while reading (the file shrank?)");
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
}

const char* file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

SafetensorsFile SafetensorsFile::read(const std::filesystem::path& path) {
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (fd.fd < 0) fail(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) fail(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(std::string(file_type(st.st_mode)) + ", not a regular file");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    check_has_length(size);
    std::byte length[8];
    pread_all(fd.fd, length, sizeof length, 0);
    const std::uint64_t n = read_u64_le(length);
    check_header_length(n, size);
    check_file_limit(size);
    // Header first, checked against the file size, before a byte of data is read.
    std::vector<std::byte> header(static_cast<std::size_t>(n));
    pread_all(fd.fd, header.data(), header.size(), 8);
    const std::uint64_t data_start = 8 + n;
    Header h = parse_header(reinterpret_cast<const char*>(header.data()), header.size(),
                            size - data_start);

    SafetensorsFile f;
    f.bytes_.resize(static_cast<std::size_t>(size));
    std::memcpy(f.bytes_.data(), length, sizeof length);
    std::memcpy(f.bytes_.data() + 8, header.data(), header.size());
    pread_all(fd.fd, f.bytes_.data() + data_start, static_cast<std::size_t>(size - data_start),
              data_start);
    f.header_bytes_ = static_cast<std::size_t>(n);
    f.data_start_ = static_cast<std::size_t>(data_start);
    f.metadata_ = std::move(h.metadata);
    f.tensors_ = std::move(h.tensors);
    return f;
  } catch (const SafetensorsError& e) {
    throw SafetensorsError(path.string() + ": " + e.what());
  }
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorEntry& t) const {
  return {bytes_.data() + data_start_ + t.begin, static_cast<std::size_t>(t.end - t.begin)};
}

std::vector<float> SafetensorsFile::to_floats(const TensorEntry& t) const {
  if (t.dtype != DType::kF32) {
    fail("tensor " + printable(t.name) + ": dtype " + to_string(t.dtype) + ", expected F32");
  }
  const auto raw = bytes(t);
  std::vector<float> out(raw.size() / sizeof(float));
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());  // data may be unaligned
  return out;
}

std::vector<std::byte> serialize_safetensors(const std::vector<F32Tensor>& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      fail("cannot write tensor " + printable(t.name));
    if (header.contains(t.name)) fail("tensor " + printable(t.name) + " given twice");
    std::uint64_t n = 1;
    for (auto d : t.shape) {
      if (d < 0) fail("tensor " + printable(t.name) + ": negative dimension");
      n *= static_cast<std::uint64_t>(d);
    }
    if (n != t.values.size()) {
      fail("tensor " + printable(t.name) + ": " + std::to_string(t.values.size()) +
           " values for a shape of " + std::to_string(n) + " elements");
    }
    const std::uint64_t bytes = n * sizeof(float);
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + offset);
  const std::uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* p = out.data() + 8 + text.size();
  for (const auto& t : tensors) {
    if (!t.values.empty()) std::memcpy(p, t.values.data(), t.values.size() * sizeof(float));
    p += t.values.size() * sizeof(float);
  }
  return out;
}

namespace {

void write_all(int fd, const std::byte* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw SafetensorsError(what + ": write failed: " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<F32Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const auto bytes = serialize_safetensors(tensors, metadata);
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / (path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    throw SafetensorsError(path.string() +
                           ": cannot create a temporary file: " + std::strerror(errno));
  }
  try {
    if (::fchmod(fd, 0644) != 0) {
      throw SafetensorsError(tmp + ": chmod failed: " + std::strerror(errno));
    }
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) throw SafetensorsError(tmp + ": fsync failed: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw SafetensorsError(path.string() + ": rename failed: " + std::strerror(err));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace primus::model
