#include "adapters/codecs/json_sample.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace primus::adapters::codecs {
namespace {

using nlohmann::json;

/// The value at `path` in `obj`, or nullptr.
const json* lookup(const json& obj, const std::vector<std::string>& path) {
  const json* cur = &obj;
  for (const auto& p : path) {
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(p);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

enum class Got { kAbsent, kOk, kBad };

Got number(const json& obj, const std::vector<std::string>& path, double& out) {
  const json* v = lookup(obj, path);
  if (!v) return Got::kAbsent;
  if (!v->is_number()) return Got::kBad;
  out = v->get<double>();
  return std::isfinite(out) ? Got::kOk : Got::kBad;
}

}  // namespace

JsonOptions::JsonOptions() {
  for (std::size_t i = 0; i < kJsonFieldCount; ++i) keys[i] = kJsonFieldNames[i];
}

void JsonOptions::rename(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    const auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == e.size())
      throw std::invalid_argument("json field \"" + e + "\" is not column=key");
    const std::string col = e.substr(0, eq);
    bool found = false;
    for (std::size_t i = 0; i < kJsonFieldCount && !found; ++i) {
      if (col == kJsonFieldNames[i]) {
        keys[i] = e.substr(eq + 1);
        found = true;
      }
    }
    if (!found) throw std::invalid_argument("json field \"" + e + "\" names an unknown column");
  }
}

JsonSampleDecoder::JsonSampleDecoder(JsonOptions opt) {
  for (std::size_t i = 0; i < kJsonFieldCount; ++i) {
    const std::string& k = opt.keys[i];
    std::size_t start = 0;
    for (;;) {
      const auto dot = k.find('.', start);
      paths_[i].parts.push_back(k.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  buf_.reserve(kMaxPayload);
}

void JsonSampleDecoder::feed(std::span<const std::uint8_t> bytes, const FrameSink&) noexcept {
  if (overlong_) return;
  if (buf_.size() + bytes.size() > kMaxPayload) {
    overlong_ = true;
    buf_.clear();
    return;
  }
  buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void JsonSampleDecoder::reset(Sync) noexcept {
  buf_.clear();
  overlong_ = false;
}

void JsonSampleDecoder::finish(const FrameSink& sink) noexcept {
  if (overlong_) {
    counters_.drop(DropReason::kBadLength);
    reset(Sync::kAligned);
    return;
  }
  if (buf_.empty()) return;
  json doc;
  try {
    doc = json::parse(buf_, nullptr, /*allow_exceptions=*/false);
  } catch (...) {  // allocation failure; parse errors give `discarded`
    doc = json::value_t::discarded;
  }
  buf_.clear();
  if (doc.is_discarded() || !(doc.is_object() || doc.is_array())) {
    counters_.drop(DropReason::kBadValue);
    return;
  }
  auto one = [&](const json& obj) {
    if (!obj.is_object()) return counters_.drop(DropReason::kBadValue);
    Decoded d;
    Sample& s = d.sample;
    double v[kJsonFieldCount] = {};
    Got got[kJsonFieldCount];
    for (std::size_t i = 0; i < kJsonFieldCount; ++i) {
      got[i] = number(obj, paths_[i].parts, v[i]);
      if (got[i] == Got::kBad) return counters_.drop(DropReason::kBadValue);
    }
    auto idx = [](JsonField f) { return static_cast<std::size_t>(f); };
    // A group: all present (true), none (false), or a drop.
    auto group = [&](JsonField first, std::size_t n, bool& present) {
      std::size_t have = 0;
      for (std::size_t k = 0; k < n; ++k) have += got[idx(first) + k] == Got::kOk;
      present = have == n;
      return have == 0 || have == n;
    };
    bool acc = false, gyro = false, quat = false, mag = false;
    if (!group(JsonField::kAccX, 3, acc) || !acc || !group(JsonField::kGyroX, 3, gyro) ||
        !group(JsonField::kQuatW, 4, quat) || !group(JsonField::kMagX, 3, mag))
      return counters_.drop(DropReason::kBadValue);
    for (std::size_t k = 0; k < 3; ++k) s.acc[k] = static_cast<float>(v[idx(JsonField::kAccX) + k]);
    s.fields |= kFieldAcc;
    if (gyro) {
      for (std::size_t k = 0; k < 3; ++k)
        s.gyro[k] = static_cast<float>(v[idx(JsonField::kGyroX) + k]);
      s.fields |= kFieldGyro;
    }
    if (quat) {
      for (std::size_t k = 0; k < 4; ++k)
        s.quat[k] = static_cast<float>(v[idx(JsonField::kQuatW) + k]);
      s.fields |= kFieldQuat;
    }
    if (mag) {
      for (std::size_t k = 0; k < 3; ++k)
        s.mag[k] = static_cast<float>(v[idx(JsonField::kMagX) + k]);
      s.fields |= kFieldMag;
    }
    if (got[idx(JsonField::kSeq)] == Got::kOk) {
      const double q = v[idx(JsonField::kSeq)];
      if (q < 0 || q != std::floor(q) || q > 18446744073709549568.0)
        return counters_.drop(DropReason::kBadValue);
      s.seq = static_cast<std::uint32_t>(static_cast<std::uint64_t>(q));  // wraps like the csv seq
      s.fields |= kFieldSeq;
    }
    static constexpr std::pair<JsonField, double> kTimes[] = {
        {JsonField::kTimeUs, 1.0}, {JsonField::kTimeMs, 1e3}, {JsonField::kTimeS, 1e6}};
    for (const auto& [f, scale] : kTimes) {
      if (got[idx(f)] != Got::kOk) continue;
      const double us = v[idx(f)] * scale;
      if (!(us >= 0 && us < 9.2e18)) return counters_.drop(DropReason::kBadValue);
      s.t_device_us = static_cast<std::int64_t>(std::llround(us));
      s.fields |= kFieldTDevice;
      break;
    }
    ++counters_.frames;
    sink(d);
  };
  if (doc.is_object()) {
    one(doc);
    return;
  }
  std::size_t n = 0;
  for (const auto& e : doc) {
    if (++n > kMaxSamplesPerPayload) {
      counters_.drop(DropReason::kBadLength);
      return;
    }
    one(e);
  }
}

}  // namespace primus::adapters::codecs
