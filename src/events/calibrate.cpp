#include "src/events/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

namespace primus::events {
namespace {

constexpr double kEps = 1e-9;

/// v rounded to a multiple of 1/per_unit, as the nearest double to the decimal (0.563, not
/// 0.5630000000000001).
double round_to(double v, double per_unit) { return std::round(v * per_unit) / per_unit; }

/// One candidate's figures, compared lexicographically (better()).
struct Score {
  bool feasible = false;
  double macro_f1 = 0;
  double class_f1 = 0;
  std::int64_t in_null = 0;
  std::int64_t false_events = 0;
};

/// A class's event F1 as a subscriber lives it: a fragment (a second event for one gesture) is an
/// extra event like a false one.
double subscriber_f1(const dataio::ClassEventStats& c) {
  const auto extra = c.false_events + c.fragments;
  const auto denom = 2 * c.detected + extra + (c.segments - c.detected);
  return denom > 0 ? 2.0 * static_cast<double>(c.detected) / static_cast<double>(denom) : 0.0;
}

/// a strictly better than b.
bool better(const Score& a, const Score& b) {
  if (a.feasible != b.feasible) return a.feasible;
  if (!a.feasible && a.in_null != b.in_null) return a.in_null < b.in_null;
  if (a.macro_f1 > b.macro_f1 + kEps) return true;
  if (a.macro_f1 < b.macro_f1 - kEps) return false;
  if (a.class_f1 > b.class_f1 + kEps) return true;
  if (a.class_f1 < b.class_f1 - kEps) return false;
  return a.false_events < b.false_events;
}

bool set_in_file(const EventsConfig& cfg, const char* key) {
  return std::find(cfg.explicit_keys.begin(), cfg.explicit_keys.end(), key) !=
         cfg.explicit_keys.end();
}

/// The grid's minimum durations (ms), shortest first.
constexpr std::array<int, 6> kMinDurationsMs = {0, 100, 200, 300, 500, 800};

/// The minimum duration that makes a start wait for a second window (two windows at a hop of
/// 100 ms or more): the grid's shortest positive value.
constexpr int kConfirmMs = kMinDurationsMs[1];

/// The generic grid for one class (see the header), with keys set in the file held.
std::vector<ClassParams> class_grid(const EventsConfig& cfg, bool no_lower_onset) {
  std::vector<double> onsets;
  if (set_in_file(cfg, "onset_threshold")) {
    onsets = {cfg.onset_threshold};
  } else {
    for (int i = 6; i <= 19; ++i) {
      const double o = round_to(0.05 * i, 100);
      if (!no_lower_onset || o >= cfg.onset_threshold - kEps) onsets.push_back(o);
    }
    if (onsets.empty()) onsets = {cfg.onset_threshold};
  }
  const std::vector<double> ratios = {0.5, 0.75, 1.0};
  std::vector<int> ks = {1, 2, 3, 5, 8};
  if (set_in_file(cfg, "smoothing_windows")) ks = {std::max(cfg.smoothing_windows, 1)};
  std::vector<int> mins(kMinDurationsMs.begin(), kMinDurationsMs.end());
  if (set_in_file(cfg, "min_duration_ms")) mins = {std::max(cfg.min_duration_ms, 0)};
  std::vector<ClassParams> out;
  for (const double o : onsets) {
    std::vector<double> releases;
    if (set_in_file(cfg, "release_threshold")) {
      releases = {std::min(cfg.release_threshold, o)};
    } else {
      for (const double r : ratios) releases.push_back(round_to(o * r, 1000));
    }
    for (const double rel : releases)
      for (const int k : ks)
        for (const int m : mins) out.push_back({o, rel, k, m});
  }
  return out;
}

nlohmann::json brief(const dataio::EventReport& r) {
  return {{"f1", r.f1},
          {"precision", r.precision},
          {"recall", r.recall},
          {"detected", r.detected},
          {"segments", r.segments},
          {"false_events", r.false_events},
          {"in_null", r.in_null},
          {"fragments", r.fragments},
          {"false_per_hour_null", r.false_per_hour_null}};
}

nlohmann::json class_brief(const dataio::EventReport& r, const std::string& label) {
  const auto it = r.per_class.find(label);
  if (it == r.per_class.end())
    return {{"f1", 0.0}, {"detected", 0}, {"segments", 0}, {"false_events", 0}};
  return {{"f1", it->second.f1},
          {"detected", it->second.detected},
          {"segments", it->second.segments},
          {"false_events", it->second.false_events}};
}

/// One setting out of a tied region, one key at a time (onset, minimum duration, smoothing,
/// release), keeping the candidates with the value picked. Every candidate in `tied` scored the
/// same, so the choice is as good on the data as any:
///   - the thresholds go to the tied value nearest the middle of the tied values' range (the
///     lower on a tie): the largest distance to the settings where the score changes, since new
///     data shifts scores;
///   - the minimum duration and the smoothing, which only delay the start message, go to the tied
///     value nearest the config's (the lower on a tie): a class is made slower than the config
///     asks only when the data shows that it must be.
ClassParams choose_tied(std::vector<ClassParams> tied, const ClassParams& base) {
  auto narrow = [&](auto get, std::optional<double> towards) {
    std::vector<double> v;
    v.reserve(tied.size());
    for (const auto& p : tied) v.push_back(static_cast<double>(get(p)));
    std::sort(v.begin(), v.end());
    const double target = towards ? *towards : (v.front() + v.back()) / 2;
    double pick = v.front();
    for (const double x : v)
      if (std::abs(x - target) < std::abs(pick - target) - kEps) pick = x;
    std::erase_if(tied, [&](const ClassParams& p) {
      return std::abs(static_cast<double>(get(p)) - pick) > kEps;
    });
  };
  narrow([](const ClassParams& p) { return p.onset_threshold; }, std::nullopt);
  narrow([](const ClassParams& p) { return p.min_duration_ms; },
         static_cast<double>(base.min_duration_ms));
  narrow([](const ClassParams& p) { return p.smoothing_windows; },
         static_cast<double>(base.smoothing_windows));
  narrow([](const ClassParams& p) { return p.release_threshold; }, std::nullopt);
  return tied.front();
}

}  // namespace

Replay replay(const ScoreTrace& trace, const EventsConfig& cfg,
              std::shared_ptr<const Calibration> calibration) {
  const std::size_t n = trace.labels.size();
  if (n == 0 || trace.scores.size() != trace.windows.size() * n)
    throw std::invalid_argument(fmt::format("score trace: {} scores for {} windows of {} classes",
                                            trace.scores.size(), trace.windows.size(), n));
  PostProcessor pp("calibrate", trace.labels, cfg, std::move(calibration));
  Replay r;
  std::map<std::uint64_t, std::int64_t> start_ns;  // event seq -> its start message's time
  std::int64_t last_ready = 0;
  auto take = [&](std::optional<GestureEvent> e) {
    if (!e) return;
    const auto it = start_ns.find(e->seq);
    r.first_message_ns.push_back(it != start_ns.end() ? it->second : last_ready);
    if (it != start_ns.end()) start_ns.erase(it);
    r.events.push_back(std::move(*e));
  };
  for (std::size_t i = 0; i < trace.windows.size(); ++i) {
    const auto& w = trace.windows[i];
    take(pp.update(w.seq, trace.scores.data() + i * n, w.start, w.end, trace.model_version));
    if (auto st = pp.take_started()) start_ns[st->seq] = w.t_ready_ns;
    last_ready = w.t_ready_ns;
  }
  take(pp.flush());
  r.stats = pp.stats();
  return r;
}

dataio::EventReport replay_report(const ScoreTrace& trace, const EventsConfig& cfg,
                                  std::shared_ptr<const Calibration> calibration,
                                  const dataio::MatchOptions& match) {
  const Replay r = replay(trace, cfg, std::move(calibration));
  std::vector<dataio::ScoredEvent> evs;
  evs.reserve(r.events.size());
  for (std::size_t i = 0; i < r.events.size(); ++i)
    evs.push_back({r.events[i].label, r.events[i].onset.t_host_ns, r.events[i].offset.t_host_ns,
                   r.first_message_ns[i]});
  return dataio::match_events(trace.segments, evs, trace.duration_ns, match);
}

CalibrateResult calibrate(const ScoreTrace& trace, const EventsConfig& config,
                          const CalibrateOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  // The search measures the calibration itself, also when the config turns it off live.
  EventsConfig cfg = config;
  cfg.calibrated = true;
  CalibrateResult res;
  res.before = replay_report(trace, cfg, nullptr, opt.match);
  ++res.replays;

  // The gesture classes to calibrate: model labels with a truth segment, in label order.
  std::set<std::string> with_segments;
  for (const auto& s : trace.segments)
    if (s.scored) with_segments.insert(s.label);
  std::vector<std::string> classes;
  for (const auto& l : trace.labels)
    if (l != cfg.null_label && with_segments.count(l) != 0) classes.push_back(l);

  res.null_minutes = static_cast<double>(res.before.null_ns) / 60e9;
  res.fallback = res.null_minutes < 10.0;
  res.allowed_false_in_null =
      res.fallback ? 0 : static_cast<std::int64_t>(std::floor(res.null_minutes / 10.0 + kEps));
  const bool no_lower_onset = res.null_minutes < 1.0;
  if (!res.fallback) {
    res.calibration.rule = fmt::format(
        "event macro-F1 with at most 1 false event per 10 min of null ({} allowed in {:.1f} min)",
        res.allowed_false_in_null, res.null_minutes);
  } else if (!no_lower_onset) {
    res.calibration.rule = fmt::format(
        "event macro-F1 with no false event in null (fallback: {:.1f} min of null is too little "
        "to measure 1 per 10 min)",
        res.null_minutes);
  } else {
    res.calibration.rule = fmt::format(
        "event macro-F1 with no false event in null and no onset threshold below the config's "
        "(fallback: {:.1f} min of null)",
        res.null_minutes);
  }

  // Start from the config's values for every class: the incumbent.
  const ClassParams base = config_params(cfg);
  auto current = std::make_shared<Calibration>();
  current->rule = res.calibration.rule;
  for (const auto& c : classes) current->classes[c] = base;
  if (classes.empty()) {
    res.calibration = *current;
    res.after = res.before;
    return res;
  }

  auto score_of = [&](const dataio::EventReport& r, const std::string& cls) {
    Score s;
    s.in_null = r.in_null;
    s.false_events = r.false_events + r.fragments;
    s.feasible = r.in_null <= res.allowed_false_in_null;
    double sum = 0;
    for (const auto& c : classes) {
      const auto it = r.per_class.find(c);
      const double f = it == r.per_class.end() ? 0.0 : subscriber_f1(it->second);
      sum += f;
      if (c == cls) s.class_f1 = f;
    }
    s.macro_f1 = sum / static_cast<double>(classes.size());
    return s;
  };

  // Bound the work: thin the grid (every `stride`-th point) and the rounds to fit.
  const auto grid = class_grid(cfg, no_lower_onset);
  const std::int64_t per_replay = std::max<std::int64_t>(1, trace.windows.size());
  const std::int64_t allowed =
      std::max<std::int64_t>(1, std::max<std::int64_t>(opt.max_window_updates, 1) / per_replay);
  int rounds = std::max(opt.rounds, 1);
  const auto per_round = static_cast<std::int64_t>(grid.size() * classes.size());
  while (rounds > 1 && rounds * per_round > allowed) --rounds;
  const std::size_t stride = static_cast<std::size_t>(
      std::max<std::int64_t>(1, (per_round + allowed - 1) / std::max<std::int64_t>(allowed, 1)));

  Score incumbent_score = score_of(res.before, "");
  for (int round = 0; round < rounds; ++round) {
    bool changed = false;
    for (const auto& cls : classes) {
      const auto inc_report = replay_report(trace, cfg, current, opt.match);
      ++res.replays;
      incumbent_score = score_of(inc_report, cls);
      std::vector<ClassParams> tied{current->classes[cls]};  // the best score's candidates
      for (std::size_t g = 0; g < grid.size(); g += stride) {
        if (grid[g] == current->classes[cls]) continue;
        auto cand = std::make_shared<Calibration>(*current);
        cand->classes[cls] = grid[g];
        const auto rep = replay_report(trace, cfg, cand, opt.match);
        ++res.replays;
        const Score s = score_of(rep, cls);
        if (better(s, incumbent_score)) {
          incumbent_score = s;
          tied = {grid[g]};
        } else if (!better(incumbent_score, s)) {
          tied.push_back(grid[g]);
        }
      }
      const ClassParams best = choose_tied(std::move(tied), base);
      if (!(best == current->classes[cls])) {
        current->classes[cls] = best;
        changed = true;
      }
    }
    if (!changed) break;
  }
  // The search's result, measured once: the confirmation's incumbent and the report after.
  auto report = replay_report(trace, cfg, current, opt.match);
  ++res.replays;
  // Confirmation: a class that would announce on one window alone waits for a second one (the
  // shortest positive minimum duration of the grid) when that scores the same on the trace and
  // its median start message still comes within the latency budget of the gesture's end.
  if (!set_in_file(cfg, "min_duration_ms")) {
    const double budget_s = static_cast<double>(cfg.latency_budget_ms) / 1e3 + kEps;
    for (const auto& cls : classes) {
      if (current->classes[cls].min_duration_ms > 0) continue;
      auto cand = std::make_shared<Calibration>(*current);
      cand->classes[cls].min_duration_ms = kConfirmMs;
      auto rep = replay_report(trace, cfg, cand, opt.match);
      ++res.replays;
      if (better(score_of(report, cls), score_of(rep, cls))) continue;
      const auto it = rep.per_class.find(cls);
      if (it == rep.per_class.end() || it->second.from_end.n == 0 ||
          it->second.from_end.p50_s > budget_s)
        continue;
      current = std::move(cand);
      report = std::move(rep);
    }
  }
  res.calibration = *current;
  res.after = std::move(report);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

nlohmann::json to_json(const CalibrateResult& r) {
  nlohmann::json classes = nlohmann::json::object();
  const auto cal = to_json(r.calibration);
  for (const auto& [label, p] : r.calibration.classes)
    classes[label] = {{"before", class_brief(r.before, label)},
                      {"after", class_brief(r.after, label)},
                      {"params", cal["classes"][label]}};
  return {{"rule", r.calibration.rule},
          {"null_minutes", r.null_minutes},
          {"allowed_false_in_null", r.allowed_false_in_null},
          {"fallback", r.fallback},
          {"replays", r.replays},
          {"seconds", r.seconds},
          {"before", brief(r.before)},
          {"after", brief(r.after)},
          {"classes", classes}};
}

}  // namespace primus::events
