#include "adapters/codecs/csv_line.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace primus::adapters::codecs {
namespace {

constexpr std::pair<const char*, CsvColumn> kNames[] = {
    {"skip", CsvColumn::kSkip},    {"seq", CsvColumn::kSeq},      {"t_s", CsvColumn::kTimeS},
    {"t_ms", CsvColumn::kTimeMs},  {"t_us", CsvColumn::kTimeUs},  {"device", CsvColumn::kDevice},
    {"acc_x", CsvColumn::kAccX},   {"acc_y", CsvColumn::kAccY},   {"acc_z", CsvColumn::kAccZ},
    {"gyro_x", CsvColumn::kGyroX}, {"gyro_y", CsvColumn::kGyroY}, {"gyro_z", CsvColumn::kGyroZ},
    {"quat_w", CsvColumn::kQuatW}, {"quat_x", CsvColumn::kQuatX}, {"quat_y", CsvColumn::kQuatY},
    {"quat_z", CsvColumn::kQuatZ}, {"mag_x", CsvColumn::kMagX},   {"mag_y", CsvColumn::kMagY},
    {"mag_z", CsvColumn::kMagZ},
};

const char* trim(const char*& b, const char* e) noexcept {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  return e;
}

bool to_double(const char* b, const char* e, double& v) noexcept {
  e = trim(b, e);
  if (b < e && *b == '+') ++b;
  if (b == e) return false;
  auto [p, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && p == e && std::isfinite(v);
}

bool to_u64(const char* b, const char* e, std::uint64_t& v) noexcept {
  e = trim(b, e);
  if (b == e) return false;
  auto [p, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && p == e;
}

}  // namespace

bool parse_csv_column(const std::string& name, CsvColumn& out) {
  for (const auto& [n, c] : kNames) {
    if (name == n) {
      out = c;
      return true;
    }
  }
  return false;
}

const char* csv_column_names() {
  return "skip, seq, t_s, t_ms, t_us, device, acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, "
         "quat_w, quat_x, quat_y, quat_z, mag_x, mag_y, mag_z";
}

CsvLineDecoder::CsvLineDecoder(CsvOptions opt, Sync start)
    : opt_(std::move(opt)), hunting_(start == Sync::kHunt) {
  unsigned seen = 0;
  for (auto c : opt_.columns) seen |= 1u << static_cast<unsigned>(c);
  auto all = [&](CsvColumn a, int n) {
    for (int i = 0; i < n; ++i)
      if (!(seen & (1u << (static_cast<unsigned>(a) + i)))) return false;
    return true;
  };
  if (all(CsvColumn::kAccX, 3)) present_ |= kFieldAcc;
  if (all(CsvColumn::kGyroX, 3)) present_ |= kFieldGyro;
  if (all(CsvColumn::kQuatW, 4)) present_ |= kFieldQuat;
  if (all(CsvColumn::kMagX, 3)) present_ |= kFieldMag;
  if (seen & (1u << static_cast<unsigned>(CsvColumn::kSeq))) present_ |= kFieldSeq;
  if (seen & ((1u << static_cast<unsigned>(CsvColumn::kTimeS)) |
              (1u << static_cast<unsigned>(CsvColumn::kTimeMs)) |
              (1u << static_cast<unsigned>(CsvColumn::kTimeUs))))
    present_ |= kFieldTDevice;
  if (!(present_ & kFieldAcc))
    throw std::invalid_argument("csv columns must include acc_x, acc_y and acc_z");
}

void CsvLineDecoder::reset(Sync sync) noexcept {
  len_ = 0;
  overlong_ = false;
  hunting_ = sync == Sync::kHunt;
  garbage_run_ = false;
}

void CsvLineDecoder::feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept {
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const char* const end = p + bytes.size();
  while (p < end) {
    const auto* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* stop = nl ? nl : end;
    const auto n = static_cast<std::size_t>(stop - p);
    if (hunting_) {
      counters_.garbage_bytes += n;
      garbage_run_ = garbage_run_ || n > 0;
      if (!nl) return;
      if (garbage_run_) counters_.drop(DropReason::kGarbage);
      hunting_ = false;
      garbage_run_ = false;
      p = nl + 1;
      continue;
    }
    if (nl && len_ == 0 && !overlong_) {
      if (n > kMaxLine) {
        counters_.drop(DropReason::kBadLength);
      } else {
        parse_line(p, n, sink);
      }
      p = nl + 1;
      continue;
    }
    if (!overlong_) {
      if (len_ + n > kMaxLine) {
        overlong_ = true;
      } else {
        std::memcpy(buf_ + len_, p, n);
        len_ += n;
      }
    }
    if (!nl) return;
    if (overlong_) {
      counters_.drop(DropReason::kBadLength);
    } else {
      parse_line(buf_, len_, sink);
    }
    len_ = 0;
    overlong_ = false;
    p = nl + 1;
  }
}

void CsvLineDecoder::finish(const FrameSink& sink) noexcept {
  if (hunting_) {
    if (garbage_run_) counters_.drop(DropReason::kGarbage);
  } else if (overlong_) {
    counters_.drop(DropReason::kBadLength);
  } else if (len_ > 0) {
    parse_line(buf_, len_, sink);  // a datagram's last line may lack its '\n'
  }
  len_ = 0;
  overlong_ = false;
  garbage_run_ = false;
}

void CsvLineDecoder::parse_line(const char* line, std::size_t n, const FrameSink& sink) noexcept {
  if (n > 0 && line[n - 1] == '\r') --n;
  {
    const char* b = line;
    const char* e = trim(b, line + n);
    if (b == e || *b == '#') return;  // blank line or comment
  }
  Decoded d;
  Sample& s = d.sample;
  const char* p = line;
  const char* const end = line + n;
  std::size_t col = 0;
  bool exhausted = false;
  for (; col < opt_.columns.size() && !exhausted; ++col) {
    const auto* sep =
        static_cast<const char*>(std::memchr(p, opt_.separator, static_cast<std::size_t>(end - p)));
    const char* fe = sep ? sep : end;
    const CsvColumn c = opt_.columns[col];
    double v = 0;
    std::uint64_t u = 0;
    bool ok = true;
    switch (c) {
      case CsvColumn::kSkip:
        break;
      case CsvColumn::kSeq:
        ok = to_u64(p, fe, u);
        s.seq = static_cast<std::uint32_t>(u);
        break;
      case CsvColumn::kDevice:
        ok = to_u64(p, fe, u) && u <= 0xFFFFFFFFu;
        d.device_id = static_cast<std::uint32_t>(u);
        d.has_device_id = true;
        break;
      case CsvColumn::kTimeS:
      case CsvColumn::kTimeMs:
      case CsvColumn::kTimeUs: {
        const double scale = c == CsvColumn::kTimeS ? 1e6 : c == CsvColumn::kTimeMs ? 1e3 : 1.0;
        ok = to_double(p, fe, v) && v >= 0 && v * scale < 9.2e18;
        if (ok) s.t_device_us = std::llround(v * scale);
        break;
      }
      default: {
        ok = to_double(p, fe, v) && std::fabs(v) <= 3.4e38;
        const auto i = static_cast<int>(c);
        const auto f = static_cast<float>(v);
        if (c <= CsvColumn::kAccZ)
          s.acc[i - static_cast<int>(CsvColumn::kAccX)] = f;
        else if (c <= CsvColumn::kGyroZ)
          s.gyro[i - static_cast<int>(CsvColumn::kGyroX)] = f;
        else if (c <= CsvColumn::kQuatZ)
          s.quat[i - static_cast<int>(CsvColumn::kQuatW)] = f;
        else
          s.mag[i - static_cast<int>(CsvColumn::kMagX)] = f;
        break;
      }
    }
    if (!ok) {
      counters_.drop(DropReason::kBadValue);
      return;
    }
    if (sep) {
      p = sep + 1;
    } else {
      exhausted = true;
    }
  }
  if (col < opt_.columns.size()) {  // fewer fields than columns
    counters_.drop(DropReason::kBadValue);
    return;
  }
  s.fields = present_;
  ++counters_.frames;
  sink(d);
}

}  // namespace primus::adapters::codecs
