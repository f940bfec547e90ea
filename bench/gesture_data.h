#pragma once
// Labelled gesture streams for fine-tuning evaluations (bench/finetune_eval.cpp) and the
// real-gesture end-to-end test: the Arduino punch/flex recordings of ../shared/data, and how a
// recording of isolated gestures becomes a continuous stream with rests in between.
//
// The Arduino recordings hold 119 samples per gesture and nothing between gestures (the sketch
// starts recording on a jerk). A stream puts each gesture between rests in which the hand stays
// where the recording starts or ends: the boundary sample held, plus sensor noise (0.01 g,
// 1 °/s). Units stay those of the file (g, °/s); the pipeline converts them.
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace primus::gesture_data {

struct Gesture {
  std::string label;
  std::vector<std::array<float, 6>> samples;  ///< ax, ay, az (g), gx, gy, gz (°/s)
};

/// One Arduino CSV: header line, gestures separated by blank lines.
inline std::vector<Gesture> load_arduino_csv(const std::string& path, const std::string& label) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Gesture> out;
  std::string line;
  std::getline(in, line);  // header
  Gesture cur{label, {}};
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!cur.samples.empty()) out.push_back(cur);
      cur.samples.clear();
      continue;
    }
    std::array<float, 6> v{};
    std::stringstream ss(line);
    std::string cell;
    for (auto& x : v) {
      if (!std::getline(ss, cell, ',')) throw std::runtime_error("short row in " + path);
      x = std::stof(cell);
    }
    cur.samples.push_back(v);
  }
  if (!cur.samples.empty()) out.push_back(cur);
  return out;
}

/// punch.csv then flex.csv from ../shared/data/arduino-punch-flex.
inline std::vector<Gesture> load_punch_flex(const std::string& data_dir) {
  auto g = load_arduino_csv(data_dir + "/arduino-punch-flex/punch.csv", "punch");
  auto f = load_arduino_csv(data_dir + "/arduino-punch-flex/flex.csv", "flex");
  g.insert(g.end(), f.begin(), f.end());
  return g;
}

/// A sample of a stream with the truth of what it is.
struct StreamSample {
  std::array<float, 6> v{};
  std::string_view label;  ///< gesture label, or "null" in rests
  int gesture = -1;        ///< index into the gestures, -1 in rests
};

/// gestures[order[0]], rest, gestures[order[1]], ... with `rest_s` of rest before, between and
/// after, at `rate_hz`. Deterministic for a seed.
inline std::vector<StreamSample> make_stream(const std::vector<Gesture>& gestures,
                                             const std::vector<int>& order, double rest_s,
                                             double rate_hz, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> na(0.0F, 0.01F), ng(0.0F, 1.0F);
  std::vector<StreamSample> out;
  const auto rest_n = static_cast<std::size_t>(std::lround(rest_s * rate_hz));
  auto rest = [&](const std::array<float, 6>& hold, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      StreamSample s;
      for (int c = 0; c < 6; ++c) s.v[c] = hold[c] + (c < 3 ? na(rng) : ng(rng));
      s.label = "null";
      out.push_back(s);
    }
  };
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& g = gestures[static_cast<std::size_t>(order[k])];
    // Rest before: half where the previous gesture ended, half where this one starts.
    if (k > 0) rest(gestures[static_cast<std::size_t>(order[k - 1])].samples.back(), rest_n / 2);
    rest(g.samples.front(), k > 0 ? rest_n - rest_n / 2 : rest_n);
    for (const auto& v : g.samples) out.push_back({v, g.label, order[k]});
  }
  if (!order.empty()) rest(gestures[static_cast<std::size_t>(order.back())].samples.back(), rest_n);
  return out;
}

}  // namespace primus::gesture_data
