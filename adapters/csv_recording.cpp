#include "adapters/csv_recording.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace primus::adapters {
namespace {

// Splits at `sep` outside double quotes (RFC 4180: a quoted field may hold the separator).
void split(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '"') quoted = !quoted;
    if (i == line.size() || (line[i] == sep && !quoted)) {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  for (auto& f : out) {
    while (!f.empty() && (f.front() == ' ' || f.front() == '"')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '"' || f.back() == '\r'))
      f.remove_suffix(1);
  }
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  return ec == std::errc() && p == end;
}

int find_col(const std::vector<std::string>& header, const std::string& name) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

/// Column indices for `names`, or for the first default set that is fully present.
std::vector<int> resolve(const std::vector<std::string>& header,
                         const std::vector<std::string>& names,
                         const std::vector<std::vector<std::string>>& defaults,
                         const std::string& file, const char* key) {
  std::vector<int> idx;
  if (!names.empty()) {
    for (const auto& n : names) {
      const int i = find_col(header, n);
      if (i < 0)
        throw std::runtime_error(file + ": " + key + " names column \"" + n +
                                 "\" which the header lacks");
      idx.push_back(i);
    }
    return idx;
  }
  for (const auto& set : defaults) {
    idx.clear();
    for (const auto& n : set) idx.push_back(find_col(header, n));
    if (std::all_of(idx.begin(), idx.end(), [](int i) { return i >= 0; })) return idx;
  }
  return {};
}

}  // namespace

Recording read_csv_recording(const DeviceConfig& dev, std::uint32_t index,
                             const LabelColumns* labels) {
  std::ifstream in(dev.path);
  if (!in) throw std::runtime_error("cannot open replay file " + dev.path);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(dev.path + ": empty file");
  const char sep =
      line.find(';') != std::string::npos && line.find(',') == std::string::npos ? ';' : ',';
  std::vector<std::string_view> f;
  split(line, sep, f);
  std::vector<std::string> header(f.begin(), f.end());

  const bool cmi = dev.format == ReplayFormat::kCmi;
  const bool capture = dev.format == ReplayFormat::kCapture;
  const bool sequences = cmi || capture;
  const std::string time_name = cmi ? "sequence_counter" : capture ? "t_s" : dev.time_column;
  const int t_col = find_col(header, time_name);
  if (t_col < 0)
    throw std::runtime_error(dev.path + ": no time column \"" + time_name + "\" in the header");
  const std::string seq_name = cmi ? "sequence_id" : "capture_id";
  const int seq_col = sequences ? find_col(header, seq_name) : -1;
  if (sequences && seq_col < 0)
    throw std::runtime_error(dev.path + ": no " + seq_name +
                             " column (format = " + (cmi ? "cmi" : "capture") + ")");
  const bool wxyz = dev.quat_order == QuatOrder::kWxyz;
  const auto acc =
      resolve(header, dev.acc_columns, {{"acc_x", "acc_y", "acc_z"}, {"ax", "ay", "az"}}, dev.path,
              "acc_columns");
  const auto gyro =
      resolve(header, dev.gyro_columns,
              {{"gyr_x", "gyr_y", "gyr_z"}, {"gyro_x", "gyro_y", "gyro_z"}, {"gx", "gy", "gz"}},
              dev.path, "gyro_columns");
  const auto quat = resolve(header, dev.quat_columns,
                            {wxyz ? std::vector<std::string>{"qw", "qx", "qy", "qz"}
                                  : std::vector<std::string>{"qx", "qy", "qz", "qw"},
                             wxyz ? std::vector<std::string>{"rot_w", "rot_x", "rot_y", "rot_z"}
                                  : std::vector<std::string>{"rot_x", "rot_y", "rot_z", "rot_w"}},
                            dev.path, "quat_columns");
  if (acc.empty())
    throw std::runtime_error(dev.path + ": no accelerometer columns (set acc_columns)");
  if (gyro.empty() && quat.empty())
    throw std::runtime_error(
        dev.path + ": neither gyro nor quaternion columns (set gyro_columns or quat_columns)");
  double to_us = 1e6;  // time_unit
  if (cmi)
    to_us = 1e6 / dev.rate_hz;
  else if (capture)
    to_us = 1e6;
  else if (dev.time_unit == "ms")
    to_us = 1e3;
  else if (dev.time_unit == "us")
    to_us = 1.0;
  else if (dev.time_unit == "ns")
    to_us = 1e-3;

  int label_col = -1, phase_col = -1, labelled_col = -1;
  if (labels != nullptr) {
    label_col = find_col(header, labels->label_column);
    if (label_col < 0)
      throw std::runtime_error(dev.path + ": no label column \"" + labels->label_column +
                               "\" in the header");
    if (!labels->phase_column.empty()) {
      phase_col = find_col(header, labels->phase_column);
      if (phase_col < 0)
        throw std::runtime_error(dev.path + ": no phase column \"" + labels->phase_column +
                                 "\" in the header");
    }
    if (capture) labelled_col = find_col(header, "labelled");
  }
  auto column_name = [&](int col) {
    return col >= 0 && col < static_cast<int>(header.size()) ? header[col] : std::string("?");
  };

  Recording rec;
  std::uint64_t lineno = 1;
  std::uint32_t row = 0;
  std::string current_seq;
  std::int64_t seq_offset_us = 0;  // cmi, capture: where the current sequence starts
  std::int64_t last_t_us = 0;
  bool seq_filter_seen = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line == "\r") continue;
    split(line, sep, f);
    auto bad = [&](const std::string& why) {
      const std::string where = "line " + std::to_string(lineno) + ": " + why;
      if (labels != nullptr && labels->strict) throw std::runtime_error(dev.path + ": " + where);
      if (rec.bad_rows++ == 0) rec.first_bad_row = where;
    };
    int bad_col = -1;
    auto get = [&](int col, double& v) {
      const bool ok =
          col < static_cast<int>(f.size()) && parse_double(f[col], v) && std::isfinite(v);
      if (!ok && bad_col < 0) bad_col = col;
      return ok;
    };
    auto cell = [&](int col) {
      return col >= 0 && col < static_cast<int>(f.size()) ? std::string(f[col]) : std::string();
    };
    if (sequences) {
      const std::string_view id =
          seq_col < static_cast<int>(f.size()) ? f[seq_col] : std::string_view{};
      if (!dev.sequence_id.empty()) {
        if (id != dev.sequence_id) {
          if (seq_filter_seen) break;  // sequences are contiguous: this one is over
          continue;
        }
        seq_filter_seen = true;
      } else if (id != current_seq) {
        if (!rec.samples.empty())
          seq_offset_us = last_t_us + static_cast<std::int64_t>((dev.max_gap_s + 1.0) * 1e6);
        current_seq.assign(id);
      }
    }
    Sample s;
    s.device = index;
    double t = 0;
    if (!get(t_col, t)) {
      bad("column " + column_name(t_col) + ": bad time value \"" + cell(t_col) + "\"");
      continue;
    }
    bool ok = true;
    double v = 0;
    for (int i = 0; i < 3 && ok; ++i) ok = get(acc[i], v), s.acc[i] = static_cast<float>(v);
    for (std::size_t i = 0; i < gyro.size() && ok; ++i)
      ok = get(gyro[i], v), s.gyro[i] = static_cast<float>(v);
    for (std::size_t i = 0; i < quat.size() && ok; ++i)
      ok = get(quat[i], v), s.quat[i] = static_cast<float>(v);
    if (!ok) {
      bad("column " + column_name(bad_col) + ": missing or non-numeric value \"" + cell(bad_col) +
          "\"");
      continue;
    }
    s.fields = kFieldAcc | kFieldSeq | kFieldTDevice;
    if (!gyro.empty()) s.fields |= kFieldGyro;
    if (!quat.empty()) s.fields |= kFieldQuat;
    s.t_device_us = static_cast<std::int64_t>(std::llround(t * to_us)) + seq_offset_us;
    last_t_us = s.t_device_us;
    s.seq = row++;
    rec.samples.push_back(s);
    if (labels != nullptr) {
      std::string label = cell(label_col);
      if (phase_col >= 0) {
        const std::string phase = cell(phase_col);
        if (std::find(labels->phase_values.begin(), labels->phase_values.end(), phase) ==
            labels->phase_values.end())
          label.clear();
      }
      if (labelled_col >= 0 && cell(labelled_col) == "0") label.clear();
      rec.labels.push_back(std::move(label));
      rec.lines.push_back(static_cast<std::uint32_t>(lineno));
    }
  }
  if (sequences && !dev.sequence_id.empty() && !seq_filter_seen)
    throw std::runtime_error(dev.path + ": no rows of " + seq_name + " \"" + dev.sequence_id +
                             "\"");
  if (rec.samples.size() < 2) throw std::runtime_error(dev.path + ": fewer than 2 usable rows");
  return rec;
}

}  // namespace primus::adapters
