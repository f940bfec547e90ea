#include "src/dataio/npz.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace primus::dataio {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& why) {
  throw std::runtime_error(where + ": " + why);
}

std::uint64_t le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// --- the .npy header: a Python dict literal such as
//     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 6), }
struct HeaderParser {
  std::string_view s;
  std::size_t i = 0;
  const std::string& name;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(name, std::string("bad .npy header: expected '") + c + "'");
  }
  std::string str() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) fail(name, "bad .npy header: string");
    const char q = s[i++];
    const std::size_t b = i;
    while (i < s.size() && s[i] != q) ++i;
    if (i >= s.size()) fail(name, "bad .npy header: unterminated string");
    return std::string(s.substr(b, i++ - b));
  }
  std::string word() {
    ws();
    const std::size_t b = i;
    while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) ++i;
    return std::string(s.substr(b, i - b));
  }
  std::uint64_t integer() {
    ws();
    const std::size_t b = i;
    std::uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10)
        fail(name, "bad .npy header: dimension too large");
      v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
    }
    if (i == b) fail(name, "bad .npy header: dimension");
    if (i < s.size() && s[i] == 'L') ++i;  // Python 2 longs
    return v;
  }
};

void parse_descr(const std::string& d, NpyArray& a, const std::string& name) {
  if (d.size() < 3) fail(name, "unsupported dtype '" + d + "'");
  const char order = d[0];
  if (order == '>') fail(name, "big-endian dtype '" + d + "' is not supported");
  if (order != '<' && order != '|' && order != '=') fail(name, "unsupported dtype '" + d + "'");
  a.kind = d[1];
  long n = 0;
  for (std::size_t k = 2; k < d.size(); ++k) {
    if (d[k] < '0' || d[k] > '9' || n > 1'000'000) fail(name, "unsupported dtype '" + d + "'");
    n = n * 10 + (d[k] - '0');
  }
  switch (a.kind) {
    case 'b':
      if (n != 1) fail(name, "unsupported dtype '" + d + "'");
      break;
    case 'i':
    case 'u':
      if (n != 1 && n != 2 && n != 4 && n != 8) fail(name, "unsupported dtype '" + d + "'");
      break;
    case 'f':
      if (n != 4 && n != 8) fail(name, "unsupported dtype '" + d + "'");
      break;
    case 'U':
      if (n < 1) fail(name, "unsupported dtype '" + d + "'");
      n *= 4;
      break;
    case 'S':
      if (n < 1) fail(name, "unsupported dtype '" + d + "'");
      break;
    case 'O':
      fail(name, "object arrays (pickled Python objects) are not read");
    default:
      fail(name, "unsupported dtype '" + d + "'");
  }
  a.item_size = static_cast<int>(n);
}

void append_utf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x110000) {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += "\xEF\xBF\xBD";  // U+FFFD for a code point out of range
  }
}

std::vector<unsigned char> inflate_raw(const unsigned char* src, std::size_t n,
                                       std::uint64_t expected, const std::string& name) {
  std::vector<unsigned char> out(static_cast<std::size_t>(expected));
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(name, "zlib init failed");
  z.next_in = const_cast<unsigned char*>(src);
  z.avail_in = static_cast<uInt>(n);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const auto produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != expected)
    fail(name, "corrupt deflate data (zlib " + std::to_string(rc) + ")");
  return out;
}

}  // namespace

std::uint64_t NpyArray::size() const noexcept {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

double NpyArray::number(std::uint64_t i) const {
  if (i >= size()) throw std::out_of_range("npy element " + std::to_string(i) + " out of range");
  if (is_text()) throw std::runtime_error("npy: a text array has no numeric elements");
  const unsigned char* p = bytes.data() + i * static_cast<std::uint64_t>(item_size);
  const std::uint64_t raw = le(p, item_size);
  switch (kind) {
    case 'b':
      return raw != 0 ? 1.0 : 0.0;
    case 'u':
      return static_cast<double>(raw);
    case 'i': {
      const int bits = item_size * 8;
      std::int64_t v = static_cast<std::int64_t>(raw);
      if (bits < 64 && (raw >> (bits - 1)) != 0) v -= static_cast<std::int64_t>(1ULL << bits);
      return static_cast<double>(v);
    }
    case 'f':
      if (item_size == 4) {
        const auto u = static_cast<std::uint32_t>(raw);
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      } else {
        double d;
        std::memcpy(&d, &raw, 8);
        return d;
      }
    default:
      throw std::runtime_error("npy: unsupported kind");
  }
}

std::string NpyArray::text(std::uint64_t i) const {
  if (i >= size()) throw std::out_of_range("npy element " + std::to_string(i) + " out of range");
  const unsigned char* p = bytes.data() + i * static_cast<std::uint64_t>(item_size);
  std::string out;
  if (kind == 'U') {
    for (int k = 0; k + 4 <= item_size; k += 4) {
      const auto c = static_cast<std::uint32_t>(le(p + k, 4));
      if (c == 0) break;
      append_utf8(out, c);
    }
    return out;
  }
  if (kind == 'S') {
    for (int k = 0; k < item_size && p[k] != 0; ++k) out += static_cast<char>(p[k]);
    return out;
  }
  const double v = number(i);
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

NpyArray parse_npy(const unsigned char* data, std::size_t n, const std::string& name) {
  static constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (n < 10 || std::memcmp(data, kMagic, 6) != 0) fail(name, "not a .npy array (bad magic)");
  const int major = data[6];
  std::size_t header_len = 0, off = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(le(data + 8, 2));
    off = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail(name, "truncated .npy header");
    header_len = static_cast<std::size_t>(le(data + 8, 4));
    off = 12;
  } else {
    fail(name, ".npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_len > n - off) fail(name, "truncated .npy header");
  if (header_len > 65536) fail(name, ".npy header too long");
  const std::string header(reinterpret_cast<const char*>(data + off), header_len);
  HeaderParser hp{header, 0, name};
  NpyArray a;
  bool have_descr = false, have_shape = false, fortran = false;
  hp.expect('{');
  while (!hp.eat('}')) {
    const std::string key = hp.str();
    hp.expect(':');
    if (key == "descr") {
      hp.ws();
      if (hp.i < header.size() && header[hp.i] == '[')
        fail(name, "structured dtypes are not supported");
      parse_descr(hp.str(), a, name);
      have_descr = true;
    } else if (key == "fortran_order") {
      const std::string w = hp.word();
      if (w != "True" && w != "False") fail(name, "bad .npy header: fortran_order");
      fortran = w == "True";
    } else if (key == "shape") {
      hp.expect('(');
      while (!hp.eat(')')) {
        a.shape.push_back(hp.integer());
        if (a.shape.size() > 32) fail(name, "too many dimensions");
        if (!hp.eat(',')) {
          hp.expect(')');
          break;
        }
      }
      have_shape = true;
    } else {
      fail(name, "bad .npy header: unknown key '" + key + "'");
    }
    if (!hp.eat(',')) {
      hp.expect('}');
      break;
    }
  }
  if (!have_descr || !have_shape) fail(name, "bad .npy header: descr or shape missing");
  if (fortran) fail(name, "Fortran-order arrays are not supported (save with C order)");
  std::uint64_t count = 1;
  for (auto d : a.shape) {
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d)
      fail(name, "shape too large");
    count *= d;
  }
  const std::size_t data_off = off + header_len;
  const std::uint64_t avail = n - data_off;
  if (count > avail / static_cast<std::uint64_t>(a.item_size) ||
      count * static_cast<std::uint64_t>(a.item_size) != avail)
    fail(name, "data length " + std::to_string(avail) + " bytes does not match the shape (" +
                   std::to_string(count) + " elements of " + std::to_string(a.item_size) +
                   " bytes)");
  a.bytes.assign(data + data_off, data + n);
  return a;
}

std::map<std::string, NpyArray> parse_npz(const unsigned char* data, std::size_t n,
                                          std::uint64_t max_bytes) {
  const std::string where = "npz";
  if (n < 22) fail(where, "not a zip archive (too short)");
  // End of central directory: the last 22 bytes plus up to 65535 bytes of comment.
  std::size_t eocd = std::string::npos;
  const std::size_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
  for (std::size_t p = n - 22 + 1; p-- > lowest;) {
    if (le(data + p, 4) == 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::string::npos) fail(where, "not a zip archive (no end of central directory)");
  if (le(data + eocd + 4, 2) != 0 || le(data + eocd + 6, 2) != 0)
    fail(where, "multi-disk zip archives are not supported");
  const std::uint64_t entries = le(data + eocd + 10, 2);
  const std::uint64_t cd_size = le(data + eocd + 12, 4);
  const std::uint64_t cd_off = le(data + eocd + 16, 4);
  if (cd_off == 0xFFFFFFFF || entries == 0xFFFF) fail(where, "ZIP64 archives are not supported");
  if (cd_off > eocd || cd_size > eocd - cd_off) fail(where, "central directory out of bounds");
  std::map<std::string, NpyArray> out;
  std::uint64_t total = 0;
  std::size_t p = static_cast<std::size_t>(cd_off);
  const std::size_t cd_end = static_cast<std::size_t>(cd_off + cd_size);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (cd_end - p < 46 || le(data + p, 4) != 0x02014b50) fail(where, "bad central directory");
    const auto flags = le(data + p + 8, 2);
    const auto method = le(data + p + 10, 2);
    const std::uint64_t csize = le(data + p + 20, 4);
    const std::uint64_t usize = le(data + p + 24, 4);
    const std::size_t name_len = static_cast<std::size_t>(le(data + p + 28, 2));
    const std::size_t extra_len = static_cast<std::size_t>(le(data + p + 30, 2));
    const std::size_t comment_len = static_cast<std::size_t>(le(data + p + 32, 2));
    const std::uint64_t local = le(data + p + 42, 4);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      fail(where, "bad central directory entry");
    const std::string fname(reinterpret_cast<const char*>(data + p + 46), name_len);
    p += 46 + name_len + extra_len + comment_len;
    const std::string ename = where + " entry " + fname;
    if (fname.size() < 4 || fname.compare(fname.size() - 4, 4, ".npy") != 0) continue;
    if ((flags & 1) != 0) fail(ename, "encrypted entries are not supported");
    if (csize == 0xFFFFFFFF || usize == 0xFFFFFFFF || local == 0xFFFFFFFF)
      fail(ename, "ZIP64 entries are not supported");
    if (n < 30 || local > n - 30 || le(data + local, 4) != 0x04034b50)
      fail(ename, "bad local header");
    const std::size_t lname = static_cast<std::size_t>(le(data + local + 26, 2));
    const std::size_t lextra = static_cast<std::size_t>(le(data + local + 28, 2));
    const std::uint64_t body = local + 30 + lname + lextra;
    if (body > n || csize > n - body) fail(ename, "entry data out of bounds");
    if (usize > max_bytes || total + usize > max_bytes)
      fail(ename, "uncompressed size over the limit of " + std::to_string(max_bytes) + " bytes");
    total += usize;
    std::vector<unsigned char> raw;
    const unsigned char* src = data + body;
    if (method == 0) {
      if (csize != usize) fail(ename, "stored entry with different sizes");
      raw.assign(src, src + csize);
    } else if (method == 8) {
      raw = inflate_raw(src, static_cast<std::size_t>(csize), usize, ename);
    } else {
      fail(ename, "compression method " + std::to_string(method) + " is not supported");
    }
    const std::string key = fname.substr(0, fname.size() - 4);
    out[key] = parse_npy(raw.data(), raw.size(), ename);
  }
  return out;
}

std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path,
                                         std::uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(path.string(), "not a regular file (or missing)");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path.string(), "cannot stat: " + ec.message());
  if (size > max_bytes) fail(path.string(), "larger than " + std::to_string(max_bytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), "cannot open");
  std::vector<unsigned char> buf(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  if (!in) fail(path.string(), "read failed");
  try {
    return parse_npz(buf.data(), buf.size(), max_bytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

}  // namespace primus::dataio
