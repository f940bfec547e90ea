#include "src/capture/capture_record.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

namespace primus::capture {

namespace {

void check_name(const char* field, const std::string& v) {
  if (v.empty())
    throw CaptureError(std::string(field) + " is empty: must be 1.." +
                       std::to_string(kMaxNameBytes) + " bytes");
  if (v.size() > kMaxNameBytes) {
    throw CaptureError(std::string(field) + " = \"" + v.substr(0, 16) + "...\" is " +
                       std::to_string(v.size()) + " bytes: must be at most " +
                       std::to_string(kMaxNameBytes));
  }
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      throw CaptureError(std::string(field) + " = \"" + v + "\": control characters not allowed");
    }
  }
}

void check_rate(const char* field, double v) {
  if (!std::isfinite(v) || v <= 0.0) {
    std::ostringstream os;
    os << field << " = " << v << ": must be finite and > 0";
    throw CaptureError(os.str());
  }
}

std::array<std::uint32_t, 256> make_crc_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace

void validate_capture(const CaptureRecord& r) {
  check_name("device", r.device);
  check_name("label", r.label);
  if (r.data.empty() || r.data.size() % kCaptureChannels != 0) {
    throw CaptureError("data has " + std::to_string(r.data.size()) +
                       " floats: must be a positive multiple of " +
                       std::to_string(kCaptureChannels) + " (channel-major 6 x n_samples)");
  }
  const std::int64_t n = r.n_samples();
  if (n > kMaxCaptureSamples) {
    throw CaptureError("n_samples = " + std::to_string(n) + ": must be at most " +
                       std::to_string(kMaxCaptureSamples));
  }
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    if (!std::isfinite(r.data[i])) {
      std::ostringstream os;
      os << "data[" << i / static_cast<std::size_t>(n) << "][" << i % static_cast<std::size_t>(n)
         << "] = " << r.data[i] << ": must be finite";
      throw CaptureError(os.str());
    }
  }
  check_rate("rate_hz", r.rate_hz);
  check_rate("source_rate_hz", r.source_rate_hz);
  if (r.t_end_device_us < r.t_start_device_us) {
    throw CaptureError("t_end_device_us = " + std::to_string(r.t_end_device_us) +
                       ": must be >= t_start_device_us = " + std::to_string(r.t_start_device_us));
  }
  if (r.t_end_host_ns < r.t_start_host_ns) {
    throw CaptureError("t_end_host_ns = " + std::to_string(r.t_end_host_ns) +
                       ": must be >= t_start_host_ns = " + std::to_string(r.t_start_host_ns));
  }
  const double period_ns = 1e9 / r.rate_hz;
  const double expect_ns = static_cast<double>(n - 1) * period_ns;
  const double span_ns = static_cast<double>(r.t_end_host_ns - r.t_start_host_ns);
  if (std::abs(span_ns - expect_ns) > period_ns) {
    std::ostringstream os;
    os << "t_end_host_ns - t_start_host_ns = " << span_ns << " ns: " << n << " samples at "
       << r.rate_hz << " Hz span " << expect_ns << " ns (one sample period of tolerance)";
    throw CaptureError(os.str());
  }
  if (!r.conversion.empty()) {
    const auto j = nlohmann::json::parse(r.conversion, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      throw CaptureError("conversion = \"" + r.conversion.substr(0, 40) +
                         "\": must be a JSON object (or empty)");
    }
  }
}

std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc) noexcept {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<unsigned char> encode_capture_data(const std::vector<float>& data) {
  std::vector<unsigned char> out(data.size() * 4);
  if constexpr (std::endian::native == std::endian::little) {
    if (!data.empty()) std::memcpy(out.data(), data.data(), out.size());
  } else {
    for (std::size_t i = 0; i < data.size(); ++i) {
      const auto u = std::bit_cast<std::uint32_t>(data[i]);
      for (int b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<unsigned char>(u >> (8 * b));
    }
  }
  return out;
}

std::vector<float> decode_capture_data(const void* bytes, std::size_t n_bytes) {
  if (n_bytes % 4 != 0) {
    throw CaptureError("data blob of " + std::to_string(n_bytes) +
                       " bytes: not a whole number of float32");
  }
  std::vector<float> out(n_bytes / 4);
  if constexpr (std::endian::native == std::endian::little) {
    if (n_bytes > 0) std::memcpy(out.data(), bytes, n_bytes);
  } else {
    const auto* p = static_cast<const unsigned char*>(bytes);
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::uint32_t u = 0;
      for (int b = 0; b < 4; ++b) u |= static_cast<std::uint32_t>(p[i * 4 + b]) << (8 * b);
      out[i] = std::bit_cast<float>(u);
    }
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> label_span(const std::string& conversion, std::int64_t n) {
  const auto j = nlohmann::json::parse(conversion, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("label_first") || !j.contains("label_count")) return {0, n};
  const auto& f = j["label_first"];
  const auto& c = j["label_count"];
  if (!f.is_number_integer() || !c.is_number_integer()) return {0, n};
  const std::int64_t first = std::clamp<std::int64_t>(f.get<std::int64_t>(), 0, n);
  const std::int64_t count = std::clamp<std::int64_t>(c.get<std::int64_t>(), 0, n - first);
  if (count <= 0) return {0, n};
  return {first, count};
}

}  // namespace primus::capture
