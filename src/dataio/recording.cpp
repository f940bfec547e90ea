#include "src/dataio/recording.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "src/dataio/npz.h"
#include "src/training/dataset.h"

namespace primus::dataio {
namespace {

/// Captured data is already converted: no unit, axis or gyro-source conversion on re-import.
void force_captured_keys(DeviceConfig& dev) {
  dev.acc_unit = AccUnit::kMps2;
  dev.gyro_unit = GyroUnit::kRadPerSec;
  dev.gyro_source = GyroSource::kMeasured;
  dev.axis_map = AxisMap{};
}

const NpyArray& need(const std::map<std::string, NpyArray>& a, const std::string& key,
                     const std::string& file) {
  const auto it = a.find(key);
  if (it == a.end()) throw std::runtime_error(file + ": no array '" + key + "' in the archive");
  return it->second;
}

void need_shape(const NpyArray& a, const std::string& key, std::uint64_t rows, std::uint64_t cols,
                const std::string& file) {
  const bool ok = cols == 0 ? a.shape.size() == 1 && a.shape[0] == rows
                            : a.shape.size() == 2 && a.shape[0] == rows && a.shape[1] == cols;
  if (!ok) {
    std::string got = "(";
    for (std::size_t i = 0; i < a.shape.size(); ++i)
      got += (i ? "," : "") + std::to_string(a.shape[i]);
    throw std::runtime_error(file + ": array '" + key + "' has shape " + got + "), expected (" +
                             std::to_string(rows) + (cols ? "," + std::to_string(cols) : "") + ")");
  }
  if (a.is_text()) throw std::runtime_error(file + ": array '" + key + "' must be numeric");
}

/// The export layout: captures of model-rate data, each a sequence.
void read_npz_export(const std::map<std::string, NpyArray>& a, LabelledRecording& out,
                     const LabelOptions& opt) {
  const std::string& file = out.dev.path;
  const auto& data = need(a, "data", file);
  const auto& offsets = need(a, "offsets", file);
  const auto& labels = need(a, "labels", file);
  if (data.shape.size() != 2) throw std::runtime_error(file + ": array 'data' must be [N, 6]");
  const std::uint64_t n = data.shape[0];
  need_shape(data, "data", n, 6, file);
  if (labels.shape.size() != 1) throw std::runtime_error(file + ": array 'labels' must be [C]");
  const std::uint64_t c = labels.shape[0];
  need_shape(offsets, "offsets", c + 1, 0, file);
  const auto* conversions = a.count("conversions") ? &a.at("conversions") : nullptr;
  if (conversions && (conversions->shape.size() != 1 || conversions->shape[0] != c))
    throw std::runtime_error(file + ": array 'conversions' must be [C]");
  double rate = 0;
  if (a.count("rate_hz")) {
    need_shape(a.at("rate_hz"), "rate_hz", c, 0, file);
    if (c > 0) rate = a.at("rate_hz").number(0);
  }
  if (!(rate > 0) || !std::isfinite(rate)) rate = out.dev.rate_hz;
  out.dev.rate_hz = rate;
  std::int64_t t0_us = 0;
  std::uint32_t row = 0;
  for (std::uint64_t k = 0; k < c; ++k) {
    const double lo = offsets.number(k), hi = offsets.number(k + 1);
    if (!(lo >= 0 && hi >= lo && hi <= static_cast<double>(n)))
      throw std::runtime_error(file + ": offsets[" + std::to_string(k) +
                               "..] = " + std::to_string(lo) + ", " + std::to_string(hi) +
                               " do not lie in 0.." + std::to_string(n) + " in order");
    const auto b = static_cast<std::uint64_t>(lo), e = static_cast<std::uint64_t>(hi);
    const std::string label = labels.text(k);
    // The labelled span from the capture's conversion JSON (the whole capture without one).
    const auto span = training::labelled_span(conversions ? conversions->text(k) : std::string(),
                                              static_cast<std::int64_t>(e - b));
    const auto lf = static_cast<double>(span.first), lc = static_cast<double>(span.count);
    for (std::uint64_t i = b; i < e; ++i) {
      Sample s;
      s.fields = kFieldAcc | kFieldGyro | kFieldSeq | kFieldTDevice;
      for (int ch = 0; ch < 6; ++ch) {
        const double v = data.number(i * 6 + static_cast<std::uint64_t>(ch));
        if (!std::isfinite(v)) {
          if (opt.strict)
            throw std::runtime_error(file + ": data[" + std::to_string(i) + "][" +
                                     std::to_string(ch) + "] is not finite");
          ++out.rec.bad_rows;
          s.fields = 0;
          break;
        }
        (ch < 3 ? s.acc : s.gyro)[ch % 3] = static_cast<float>(v);
      }
      if (s.fields == 0) continue;
      const auto j = static_cast<double>(i - b);
      s.t_device_us = t0_us + static_cast<std::int64_t>(std::llround(j * 1e6 / rate));
      s.seq = row++;
      out.rec.samples.push_back(s);
      out.rec.labels.push_back(j >= lf && j < lf + lc ? label : std::string());
      out.rec.lines.push_back(static_cast<std::uint32_t>(i));
    }
    t0_us += static_cast<std::int64_t>(std::llround(static_cast<double>(e - b) * 1e6 / rate)) +
             static_cast<std::int64_t>((out.dev.max_gap_s + 1.0) * 1e6);
  }
}

/// The raw layout: samples in device units, one label each.
void read_npz_raw(const std::map<std::string, NpyArray>& a, LabelledRecording& out,
                  const LabelOptions& opt) {
  const std::string& file = out.dev.path;
  const auto& acc = need(a, "acc", file);
  if (acc.shape.size() != 2) throw std::runtime_error(file + ": array 'acc' must be [N, 3]");
  const std::uint64_t n = acc.shape[0];
  need_shape(acc, "acc", n, 3, file);
  const std::string label_key = opt.label_column.empty() ? "label" : opt.label_column;
  const auto& label = need(a, label_key, file);
  if (label.shape.size() != 1 || label.shape[0] != n)
    throw std::runtime_error(file + ": array '" + label_key + "' must be [N] with N = " +
                             std::to_string(n) + " (the rows of 'acc')");
  const NpyArray* gyro = a.count("gyro") ? &a.at("gyro") : nullptr;
  const NpyArray* quat = a.count("quat") ? &a.at("quat") : nullptr;
  const NpyArray* t = a.count("t") ? &a.at("t") : nullptr;
  const NpyArray* seq = a.count("sequence") ? &a.at("sequence") : nullptr;
  if (gyro) need_shape(*gyro, "gyro", n, 3, file);
  if (quat) need_shape(*quat, "quat", n, 4, file);
  if (t) need_shape(*t, "t", n, 0, file);
  if (seq && (seq->shape.size() != 1 || seq->shape[0] != n))
    throw std::runtime_error(file + ": array 'sequence' must be [N]");
  if (!gyro && !quat) throw std::runtime_error(file + ": neither 'gyro' nor 'quat' in the archive");
  std::int64_t offset_us = 0, last_us = 0;
  std::string current;
  std::uint32_t row = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (seq) {
      const std::string id = seq->text(i);
      if (i > 0 && id != current)
        offset_us = last_us + static_cast<std::int64_t>((out.dev.max_gap_s + 1.0) * 1e6);
      current = id;
    }
    Sample s;
    s.fields =
        kFieldAcc | kFieldSeq | kFieldTDevice | (gyro ? kFieldGyro : 0) | (quat ? kFieldQuat : 0);
    std::string bad;
    auto get = [&](const NpyArray& arr, const char* key, std::uint64_t cols, std::uint64_t col) {
      const double v = arr.number(i * cols + col);
      if (!std::isfinite(v) && bad.empty())
        bad = std::string(key) + "[" + std::to_string(i) + "][" + std::to_string(col) + "]";
      return static_cast<float>(v);
    };
    for (std::uint64_t k = 0; k < 3; ++k) s.acc[static_cast<int>(k)] = get(acc, "acc", 3, k);
    if (gyro)
      for (std::uint64_t k = 0; k < 3; ++k) s.gyro[static_cast<int>(k)] = get(*gyro, "gyro", 3, k);
    if (quat)
      for (std::uint64_t k = 0; k < 4; ++k) s.quat[static_cast<int>(k)] = get(*quat, "quat", 4, k);
    double ts = static_cast<double>(i) / out.dev.rate_hz;
    if (t) {
      ts = t->number(i);
      if (!std::isfinite(ts) && bad.empty()) bad = "t[" + std::to_string(i) + "]";
    }
    if (!bad.empty()) {
      if (opt.strict) throw std::runtime_error(file + ": " + bad + " is not finite");
      ++out.rec.bad_rows;
      if (out.rec.first_bad_row.empty()) out.rec.first_bad_row = bad + " is not finite";
      continue;
    }
    s.t_device_us = static_cast<std::int64_t>(std::llround(ts * 1e6)) + offset_us;
    last_us = s.t_device_us;
    s.seq = row++;
    out.rec.samples.push_back(s);
    out.rec.labels.push_back(label.text(i));
    out.rec.lines.push_back(static_cast<std::uint32_t>(i));
  }
}

}  // namespace

const char* to_string(RecordingFormat f) noexcept {
  switch (f) {
    case RecordingFormat::kCsv:
      return "csv";
    case RecordingFormat::kCmi:
      return "cmi";
    case RecordingFormat::kCapture:
      return "capture";
    case RecordingFormat::kNpz:
      return "npz";
  }
  return "?";
}

RecordingFormat parse_recording_format(const std::string& s) {
  for (auto f : {RecordingFormat::kCsv, RecordingFormat::kCmi, RecordingFormat::kCapture,
                 RecordingFormat::kNpz})
    if (s == to_string(f)) return f;
  throw std::invalid_argument("format = \"" + s + "\": must be one of csv, cmi, capture, npz");
}

RecordingFormat guess_format(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0 ? RecordingFormat::kNpz
                                                                           : RecordingFormat::kCsv;
}

LabelledRecording read_labelled_recording(const DeviceConfig& dev, RecordingFormat format,
                                          const LabelOptions& opt) {
  LabelledRecording out;
  out.dev = dev;
  out.format = format;
  if (format == RecordingFormat::kNpz) {
    const auto arrays = read_npz(dev.path);
    if (arrays.count("data") && arrays.count("offsets")) {
      force_captured_keys(out.dev);
      read_npz_export(arrays, out, opt);
    } else {
      read_npz_raw(arrays, out, opt);
    }
    if (out.rec.samples.size() < 2)
      throw std::runtime_error(dev.path + ": fewer than 2 usable samples");
  } else {
    adapters::LabelColumns lc;
    lc.strict = opt.strict;
    switch (format) {
      case RecordingFormat::kCmi:
        out.dev.format = ReplayFormat::kCmi;
        lc.label_column = opt.label_column.empty() ? "gesture" : opt.label_column;
        break;
      case RecordingFormat::kCapture:
        out.dev.format = ReplayFormat::kCapture;
        force_captured_keys(out.dev);
        lc.label_column = opt.label_column.empty() ? "label" : opt.label_column;
        break;
      default:
        out.dev.format = ReplayFormat::kCsv;
        lc.label_column = opt.label_column.empty() ? "label" : opt.label_column;
        break;
    }
    lc.phase_column = opt.phase_column;
    lc.phase_values = opt.phase_values;
    if (!lc.phase_column.empty() && lc.phase_values.empty()) lc.phase_values = {"Performs gesture"};
    out.rec = adapters::read_csv_recording(out.dev, 0, &lc);
    if (format == RecordingFormat::kCapture) {
      // The capture's rate, from the first two samples of the first capture.
      const auto& s = out.rec.samples;
      const double dt_us = static_cast<double>(s[1].t_device_us - s[0].t_device_us);
      if (dt_us > 0 && dt_us < 1e6) out.dev.rate_hz = 1e6 / dt_us;
    }
  }
  for (auto& s : out.rec.samples) s.t_host_ns = kHostBaseNs + s.t_device_us * 1000;
  for (auto& l : out.rec.labels) {
    if (l == opt.null_label ||
        std::find(opt.null_values.begin(), opt.null_values.end(), l) != opt.null_values.end()) {
      l.clear();
      continue;
    }
    if (std::find(out.classes.begin(), out.classes.end(), l) == out.classes.end())
      out.classes.push_back(l);
  }
  return out;
}

}  // namespace primus::dataio
