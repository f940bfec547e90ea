#include "src/capture/export.h"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <ostream>
#include <vector>

namespace primus::capture {

namespace {

constexpr std::uint64_t kZipMax = 0xFFFFFFFFull;

// ---- little-endian helpers ----
void put_le(std::string& s, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

/// Writes a zip of stored (uncompressed) entries, streaming each entry's bytes and patching its
/// local header (crc, sizes) when the entry ends. No ZIP64: refuses anything past 4 GiB.
class ZipWriter {
 public:
  explicit ZipWriter(const std::filesystem::path& path) : path_(path) {
    f_.open(path, std::ios::binary | std::ios::trunc);
    if (!f_) throw CaptureError("cannot create " + path.string() + ": " + std::strerror(errno));
  }

  void begin(const std::string& name) {
    Entry e;
    e.name = name;
    e.offset = pos_;
    if (e.offset > kZipMax) too_big();
    std::string h;
    put_le(h, 0x04034b50u, 4);
    put_le(h, 20, 2);      // version needed
    put_le(h, 0, 2);       // flags
    put_le(h, 0, 2);       // method: stored
    put_le(h, 0, 2);       // time 00:00:00
    put_le(h, 0x0021, 2);  // date 1980-01-01 (fixed, so exports are reproducible)
    put_le(h, 0, 4);       // crc (patched)
    put_le(h, 0, 4);       // compressed size (patched)
    put_le(h, 0, 4);       // size (patched)
    put_le(h, name.size(), 2);
    put_le(h, 0, 2);  // extra length
    h += name;
    raw(h.data(), h.size());
    entries_.push_back(e);
  }

  void write(const void* p, std::size_t n) {
    Entry& e = entries_.back();
    e.crc = crc32(p, n, e.crc);
    e.size += n;
    if (e.size > kZipMax) too_big();
    raw(p, n);
  }

  void end() {
    const Entry& e = entries_.back();
    std::string patch;
    put_le(patch, e.crc, 4);
    put_le(patch, e.size, 4);
    put_le(patch, e.size, 4);
    f_.seekp(static_cast<std::streamoff>(e.offset + 14));
    f_.write(patch.data(), static_cast<std::streamsize>(patch.size()));
    f_.seekp(static_cast<std::streamoff>(pos_));
    check();
  }

  /// Central directory and end record; flushes and closes. Returns the file size.
  std::uint64_t finish() {
    const std::uint64_t cd_offset = pos_;
    std::string cd;
    for (const Entry& e : entries_) {
      put_le(cd, 0x02014b50u, 4);
      put_le(cd, 20, 2);  // made by
      put_le(cd, 20, 2);  // needed
      put_le(cd, 0, 2);
      put_le(cd, 0, 2);
      put_le(cd, 0, 2);
      put_le(cd, 0x0021, 2);
      put_le(cd, e.crc, 4);
      put_le(cd, e.size, 4);
      put_le(cd, e.size, 4);
      put_le(cd, e.name.size(), 2);
      put_le(cd, 0, 2);  // extra
      put_le(cd, 0, 2);  // comment
      put_le(cd, 0, 2);  // disk
      put_le(cd, 0, 2);  // internal attributes
      put_le(cd, 0, 4);  // external attributes
      put_le(cd, e.offset, 4);
      cd += e.name;
    }
    std::string eocd;
    put_le(eocd, 0x06054b50u, 4);
    put_le(eocd, 0, 2);
    put_le(eocd, 0, 2);
    put_le(eocd, entries_.size(), 2);
    put_le(eocd, entries_.size(), 2);
    put_le(eocd, cd.size(), 4);
    put_le(eocd, cd_offset, 4);
    put_le(eocd, 0, 2);
    raw(cd.data(), cd.size());
    if (pos_ > kZipMax) too_big();
    raw(eocd.data(), eocd.size());
    f_.flush();
    check();
    f_.close();
    if (f_.fail()) throw CaptureError("cannot write " + path_.string());
    return pos_;
  }

 private:
  struct Entry {
    std::string name;
    std::uint64_t offset = 0;
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
  };

  void raw(const void* p, std::size_t n) {
    f_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    pos_ += n;
    check();
  }
  void check() {
    if (!f_) throw CaptureError("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  [[noreturn]] void too_big() const {
    throw CaptureError(
        "export too large for a zip without ZIP64 (4 GiB): filter by --label or "
        "--device, or use --format csv");
  }

  std::filesystem::path path_;
  std::ofstream f_;
  std::uint64_t pos_ = 0;
  std::vector<Entry> entries_;
};

/// A .npy version 1.0 header (magic, version, length, dict padded to 64 bytes).
std::string npy_header(const std::string& descr, const std::vector<std::uint64_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    dict += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string h("\x93NUMPY\x01\x00", 8);
  put_le(h, dict.size(), 2);
  return h + dict;
}

template <typename T>
void npz_vector(ZipWriter& z, const std::string& name, const char* descr, const std::vector<T>& v) {
  z.begin(name + ".npy");
  const std::string h = npy_header(descr, {v.size()});
  z.write(h.data(), h.size());
  std::string bytes;
  bytes.reserve(v.size() * sizeof(T));
  for (const T& x : v) {
    std::uint64_t u = 0;
    std::memcpy(&u, &x, sizeof(T));
    put_le(bytes, u, sizeof(T));
  }
  z.write(bytes.data(), bytes.size());
  z.end();
}

/// UTF-8 to code points (malformed bytes become U+FFFD).
std::u32string utf32(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      ok = (d >> 6) == 2;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    out.push_back(ok ? cp : U'\uFFFD');
    i += ok ? static_cast<std::size_t>(len) : 1;
  }
  return out;
}

void npz_strings(ZipWriter& z, const std::string& name, const std::vector<std::string>& v) {
  std::vector<std::u32string> u;
  std::size_t width = 1;
  for (const auto& s : v) {
    u.push_back(utf32(s));
    width = std::max(width, u.back().size());
  }
  z.begin(name + ".npy");
  const std::string h = npy_header("<U" + std::to_string(width), {v.size()});
  z.write(h.data(), h.size());
  std::string bytes;
  for (const auto& s : u) {
    for (std::size_t k = 0; k < width; ++k) put_le(bytes, k < s.size() ? s[k] : 0, 4);
  }
  z.write(bytes.data(), bytes.size());
  z.end();
}

std::uint64_t write_npz(const CaptureStore& store, const CaptureFilter& filter,
                        const std::filesystem::path& path, ExportSummary& sum) {
  ZipWriter z(path);
  std::uint64_t size = 0;
  store.with_snapshot([&] {
    const std::vector<CaptureInfo> infos = store.list(filter);
    std::vector<std::int64_t> ids, offsets{0}, t0d, t1d, t0h, t1h, created;
    std::vector<double> rate, source_rate;
    std::vector<std::string> labels, devices, conversions;
    for (const auto& c : infos) {
      conversions.push_back(c.conversion);
      ids.push_back(c.id);
      offsets.push_back(offsets.back() + c.n_samples);
      t0d.push_back(c.t_start_device_us);
      t1d.push_back(c.t_end_device_us);
      t0h.push_back(c.t_start_host_ns);
      t1h.push_back(c.t_end_host_ns);
      created.push_back(c.created_wall_ns);
      rate.push_back(c.rate_hz);
      source_rate.push_back(c.source_rate_hz);
      labels.push_back(c.label);
      devices.push_back(c.device);
    }
    npz_vector(z, "ids", "<i8", ids);
    npz_vector(z, "offsets", "<i8", offsets);
    npz_strings(z, "labels", labels);
    npz_strings(z, "devices", devices);
    npz_strings(z, "conversions", conversions);
    npz_vector(z, "rate_hz", "<f8", rate);
    npz_vector(z, "source_rate_hz", "<f8", source_rate);
    npz_vector(z, "t_start_device_us", "<i8", t0d);
    npz_vector(z, "t_end_device_us", "<i8", t1d);
    npz_vector(z, "t_start_host_ns", "<i8", t0h);
    npz_vector(z, "t_end_host_ns", "<i8", t1h);
    npz_vector(z, "created_wall_ns", "<i8", created);

    const auto total = static_cast<std::uint64_t>(offsets.back());
    z.begin("data.npy");
    const std::string h = npy_header("<f4", {total, static_cast<std::uint64_t>(kCaptureChannels)});
    z.write(h.data(), h.size());
    std::size_t k = 0;
    std::vector<float> rows;
    store.for_each(filter, [&](const CaptureRecord& r) {
      if (k >= infos.size() || infos[k].id != r.id) {
        throw CaptureError("capture list changed during the export");
      }
      ++k;
      const auto n = static_cast<std::size_t>(r.n_samples());
      rows.resize(n * kCaptureChannels);
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t c = 0; c < kCaptureChannels; ++c)
          rows[i * kCaptureChannels + c] = r.data[c * n + i];
      }
      const std::vector<unsigned char> le = encode_capture_data(rows);
      z.write(le.data(), le.size());
      ++sum.captures;
      sum.samples += r.n_samples();
    });
    z.end();
    size = z.finish();
  });
  return size;
}

void csv_field(std::string& line, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    line += s;
    return;
  }
  line += '"';
  for (const char c : s) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

template <typename T>
void csv_number(std::string& line, T v) {
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  line.append(buf.data(), res.ptr);
}

std::int64_t lerp_i64(std::int64_t a, std::int64_t b, std::size_t i, std::size_t n) {
  if (n < 2) return a;
  const long double f = static_cast<long double>(i) / static_cast<long double>(n - 1);
  return a + static_cast<std::int64_t>(std::llround(static_cast<long double>(b - a) * f));
}

std::uint64_t write_csv(const CaptureStore& store, const CaptureFilter& filter,
                        const std::filesystem::path& path, ExportSummary& sum) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw CaptureError("cannot create " + path.string() + ": " + std::strerror(errno));
  std::uint64_t size = 0;
  auto put = [&](const std::string& s) {
    f.write(s.data(), static_cast<std::streamsize>(s.size()));
    size += s.size();
    if (!f) throw CaptureError("cannot write " + path.string() + ": " + std::strerror(errno));
  };
  put("capture_id,label,device,i,t_s,t_device_us,t_host_ns,acc_x,acc_y,acc_z,gyro_x,gyro_y,"
      "gyro_z,labelled\n");
  std::string block;
  store.with_snapshot([&] {
    store.for_each(filter, [&](const CaptureRecord& r) {
      std::string prefix;
      csv_number(prefix, r.id);
      prefix += ',';
      csv_field(prefix, r.label);
      prefix += ',';
      csv_field(prefix, r.device);
      prefix += ',';
      const auto n = static_cast<std::size_t>(r.n_samples());
      const auto [span_first, span_count] = label_span(r.conversion, r.n_samples());
      block.clear();
      for (std::size_t i = 0; i < n; ++i) {
        block += prefix;
        csv_number(block, i);
        block += ',';
        csv_number(block, static_cast<double>(i) / r.rate_hz);
        block += ',';
        csv_number(block, lerp_i64(r.t_start_device_us, r.t_end_device_us, i, n));
        block += ',';
        csv_number(block, lerp_i64(r.t_start_host_ns, r.t_end_host_ns, i, n));
        for (std::size_t c = 0; c < kCaptureChannels; ++c) {
          block += ',';
          csv_number(block, r.data[c * n + i]);
        }
        const auto ii = static_cast<std::int64_t>(i);
        block += ii >= span_first && ii < span_first + span_count ? ",1\n" : ",0\n";
      }
      put(block);
      ++sum.captures;
      sum.samples += r.n_samples();
    });
  });
  f.flush();
  f.close();
  if (f.fail()) throw CaptureError("cannot write " + path.string());
  return size;
}

}  // namespace

ExportSummary export_captures(const CaptureStore& store, const CaptureFilter& filter,
                              const std::string& format, const std::filesystem::path& out) {
  if (format != "csv" && format != "npz") {
    throw CaptureError("format = \"" + format + "\": must be csv or npz");
  }
  std::filesystem::path tmp = out;
  tmp += ".tmp-" + std::to_string(::getpid());
  ExportSummary sum;
  try {
    sum.bytes_written = static_cast<std::int64_t>(
        format == "csv" ? write_csv(store, filter, tmp, sum) : write_npz(store, filter, tmp, sum));
    std::error_code ec;
    std::filesystem::rename(tmp, out, ec);
    if (ec)
      throw CaptureError("cannot rename " + tmp.string() + " to " + out.string() + ": " +
                         ec.message());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  return sum;
}

int run_captures_export(const ExportOptions& opt, std::ostream& err) {
  if (opt.format != "csv" && opt.format != "npz") {
    err << "captures export: --format " << opt.format << ": must be csv or npz\n";
    return 2;
  }
  try {
    StoreOptions so;
    so.read_only = true;
    const CaptureStore store(opt.db, so);
    CaptureFilter filter;
    filter.label = opt.label;
    filter.device = opt.device;
    const ExportSummary s = export_captures(store, filter, opt.format, opt.out);
    err << "exported " << s.captures << " captures (" << s.samples << " samples) to "
        << opt.out.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "captures export: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace primus::capture
