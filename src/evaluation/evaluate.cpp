#include "src/evaluation/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include "src/dataio/stream.h"
#include "src/events/calibrate.h"
#include "src/events/post_processor.h"
#include "src/model/classifier.h"
#include "src/training/dataset.h"

namespace primus::evaluation {
namespace {

using dataio::TruthSegment;

/// Index of `label` in classes, appending it when new.
int class_index(std::vector<std::string>& classes, const std::string& label) {
  const auto it = std::find(classes.begin(), classes.end(), label);
  if (it != classes.end()) return static_cast<int>(it - classes.begin());
  classes.push_back(label);
  return static_cast<int>(classes.size()) - 1;
}

/// Window truth by the dataset's rule: the label, "" for null, nullopt for ambiguous.
std::optional<std::string> window_truth(const std::vector<TruthSegment>& segs, std::int64_t ws,
                                        std::int64_t we) {
  const TruthSegment* hit = nullptr;
  for (const auto& s : segs) {
    if (s.end_ns < ws || s.start_ns > we) continue;
    if (hit != nullptr) return std::nullopt;  // over two segments
    hit = &s;
  }
  if (hit == nullptr) return std::string();
  const bool holds = ws <= hit->start_ns && hit->end_ns <= we;
  const bool inside = hit->start_ns <= ws && we <= hit->end_ns;
  if (holds || inside) return hit->label;
  return std::nullopt;
}

/// Windows in, batched through the model, scores out: the trace the post-processor replays
/// (src/events/calibrate.h). A window that does not follow its predecessor by one hop, and each
/// new stream, gets a window seq jump, which closes a gesture in progress as the daemon does.
class Scorer {
 public:
  Scorer(const ScoringModel& m, const Config& cfg, int batch)
      : model_(m),
        cfg_(cfg),
        batch_(std::max(1, batch)),
        hop_ns_(static_cast<std::int64_t>(1e9 * cfg.window.hop / cfg.window.rate_hz)) {
    trace.labels = m.labels;
    trace.model_version = m.version;
  }

  /// Windows must come in time order.
  void add(Window&& w) {
    pending_.push_back(std::move(w));
    if (static_cast<int>(pending_.size()) >= batch_) run();
  }
  void finish() { run(); }
  /// A new independent stream follows.
  void boundary() {
    run();
    have_prev_ = false;
    seq_ += 2;
  }

  events::ScoreTrace trace;
  std::vector<int> predicted;  ///< per scored window, index into the labels

 private:
  void run() {
    if (pending_.empty()) return;
    const int n = static_cast<int>(pending_.size());
    const int len = cfg_.window.length;
    const auto k = static_cast<std::size_t>(trace.labels.size());
    x_.resize(static_cast<std::size_t>(n) * kChannels * static_cast<std::size_t>(len));
    for (int i = 0; i < n; ++i)
      std::copy(pending_[static_cast<std::size_t>(i)].data.begin(),
                pending_[static_cast<std::size_t>(i)].data.end(),
                x_.begin() + static_cast<std::ptrdiff_t>(i) * kChannels * len);
    probs_.resize(static_cast<std::size_t>(n) * k);
    model_.predict(x_.data(), n, len, probs_.data());
    for (int i = 0; i < n; ++i) {
      const auto& w = pending_[static_cast<std::size_t>(i)];
      const float* p = probs_.data() + static_cast<std::size_t>(i) * k;
      predicted.push_back(static_cast<int>(std::max_element(p, p + k) - p));
      const bool contiguous =
          have_prev_ && w.t_start_host_ns - prev_start_ns_ <= hop_ns_ + hop_ns_ / 2;
      seq_ += have_prev_ && !contiguous ? 2 : 1;
      trace.windows.push_back({seq_,
                               {w.t_start_host_ns, w.t_start_device_us},
                               {w.t_end_host_ns, w.t_end_device_us},
                               w.t_ready_ns});
      trace.scores.insert(trace.scores.end(), p, p + k);
      have_prev_ = true;
      prev_start_ns_ = w.t_start_host_ns;
    }
    pending_.clear();
  }

  const ScoringModel& model_;
  const Config& cfg_;
  int batch_;
  std::int64_t hop_ns_;
  std::vector<Window> pending_;
  std::vector<float> x_, probs_;
  bool have_prev_ = false;
  std::int64_t prev_start_ns_ = 0;
  std::uint64_t seq_ = 0;
};

/// A gesture that ends before the first window of its stream is complete (the stream, or the
/// recording after a gap, begins inside or just after it) cannot be announced before that window:
/// its segment may be matched that much later (TruthSegment::late_ns), so that the wait for the
/// first window is neither a missed gesture nor a false event.
void allow_for_stream_starts(events::ScoreTrace& trace) {
  std::int64_t prev_end = std::numeric_limits<std::int64_t>::min();  // the window before
  for (std::size_t i = 0; i < trace.windows.size(); ++i) {
    const auto& w = trace.windows[i];
    if (i == 0 || w.seq != trace.windows[i - 1].seq + 1)  // a run starts at window i
      for (auto& s : trace.segments)
        if (s.end_ns > prev_end && s.end_ns < w.end.t_host_ns)
          s.late_ns = std::max(s.late_ns, w.end.t_host_ns - s.end_ns);
    prev_end = w.end.t_host_ns;
  }
}

/// Window figures from the trace, event figures from replaying it, against the truth.
EvaluateReport summarise(events::ScoreTrace trace, const std::vector<int>& predicted,
                         std::int64_t t0_ns, const Config& cfg,
                         std::shared_ptr<const events::Calibration> calibration,
                         const dataio::MatchOptions& match) {
  EvaluateReport r;
  r.events_cfg = cfg.events;
  r.classes = trace.labels;
  const std::string& null_label = cfg.events.null_label;
  std::vector<int> truth, pred;
  for (std::size_t i = 0; i < trace.windows.size(); ++i) {
    const auto& w = trace.windows[i];
    ++r.windows_total;
    const auto t = window_truth(trace.segments, w.start.t_host_ns, w.end.t_host_ns);
    if (!t) {
      ++r.windows_ambiguous;
      continue;
    }
    truth.push_back(class_index(r.classes, t->empty() ? null_label : *t));
    pred.push_back(predicted[i]);
  }
  r.windows = training::classification_metrics(truth, pred, r.classes.size());
  allow_for_stream_starts(trace);
  const auto rep = events::replay(trace, cfg.events, calibration);
  std::vector<dataio::ScoredEvent> evs;
  for (std::size_t i = 0; i < rep.events.size(); ++i) {
    const auto& e = rep.events[i];
    evs.push_back({e.label, e.onset.t_host_ns, e.offset.t_host_ns, rep.first_message_ns[i]});
  }
  r.events = dataio::match_events(trace.segments, evs, trace.duration_ns, match);
  for (std::size_t i = 0; i < rep.events.size(); ++i) {
    const auto& e = rep.events[i];
    r.event_rows.push_back({e.label, static_cast<double>(e.onset.t_host_ns - t0_ns) / 1e9,
                            static_cast<double>(e.offset.t_host_ns - t0_ns) / 1e9,
                            static_cast<double>(rep.first_message_ns[i] - t0_ns) / 1e9,
                            e.confidence, r.events.outcomes[i]});
  }
  r.data_seconds = static_cast<double>(trace.duration_ns) / 1e9;
  r.calibration = calibration;
  r.class_params = events::resolve_class_params(cfg.events, trace.labels, calibration.get());
  r.trace = std::move(trace);
  return r;
}

void check_model(const ScoringModel& info, const Config& cfg) {
  if (!info.predict || info.labels.empty())
    throw std::invalid_argument("evaluate: the model has no predict function or no labels");
  if (info.window_length != cfg.window.length || std::abs(info.rate_hz - cfg.window.rate_hz) > 1e-9)
    throw std::runtime_error(fmt::format(
        "the model was trained on windows of {} samples at {} Hz, the config asks for {} at {} Hz "
        "(set window.length and window.rate_hz)",
        info.window_length, info.rate_hz, cfg.window.length, cfg.window.rate_hz));
}

}  // namespace

ScoringModel scoring_model(model::Classifier& m) {
  const auto& info = m.info();
  return {
      info.labels,
      info.version,
      info.window_length,
      info.rate_hz,
      [&m](const float* x, int batch, int length, float* probs) {
        m.predict(x, batch, length, probs);
      },
      info.calibration ? std::make_shared<const events::Calibration>(*info.calibration) : nullptr};
}

EvaluateReport evaluate_recording(model::Classifier& model, const EvaluateOptions& opt) {
  return evaluate_recording(scoring_model(model), opt);
}

EvaluateReport evaluate_captures(model::Classifier& model,
                                 const std::vector<capture::CaptureRecord>& caps, const Config& cfg,
                                 const std::vector<std::vector<training::NearbyGesture>>& nearby,
                                 const dataio::MatchOptions& match) {
  return evaluate_captures(scoring_model(model), caps, cfg, nearby, match);
}

events::CalibrateResult calibrate_candidate(model::Classifier& m, EvaluateReport& report,
                                            const EventsConfig& cfg) {
  m.set_calibration(std::nullopt);  // a copy of the parent's would be stale
  auto cal = events::calibrate(report.trace, cfg);
  m.set_calibration(cal.calibration);
  report.events = events::replay_report(
      report.trace, cfg, std::make_shared<const events::Calibration>(cal.calibration));
  return cal;
}

EvaluateReport evaluate_recording(const ScoringModel& model, const EvaluateOptions& opt) {
  check_model(model, opt.cfg);
  const auto rec = dataio::read_labelled_recording(opt.dev, opt.format, opt.labels);
  Scorer sc(model, opt.cfg, opt.batch);
  const auto stream =
      dataio::run_signal_path(rec, opt.cfg.window, [&](Window&& w) { sc.add(std::move(w)); });
  sc.finish();
  for (const auto& g : dataio::find_segments(stream))
    if (!g.label.empty()) sc.trace.segments.push_back({g.label, g.t_start_ns, g.t_end_ns});
  sc.trace.duration_ns = stream.duration_ns;
  const std::int64_t t0 = stream.frames.empty() ? 0 : stream.frames.front().t_host_ns;
  auto r = summarise(std::move(sc.trace), sc.predicted, t0, opt.cfg, model.calibration, opt.match);
  r.source = opt.dev.path;
  r.model_version = model.version;
  return r;
}

EvaluateReport evaluate_captures(const ScoringModel& model,
                                 const std::vector<capture::CaptureRecord>& caps, const Config& cfg,
                                 const std::vector<std::vector<training::NearbyGesture>>& nearby,
                                 const dataio::MatchOptions& match) {
  check_model(model, cfg);
  if (!nearby.empty() && nearby.size() != caps.size())
    throw std::invalid_argument(
        fmt::format("evaluate: {} neighbour lists for {} captures", nearby.size(), caps.size()));
  Scorer sc(model, cfg, 64);
  auto& segs = sc.trace.segments;
  std::int64_t duration = 0;
  const int L = cfg.window.length;
  const double period_ns = 1e9 / cfg.window.rate_hz;
  // Captures are laid end to end on one virtual time line, 10 windows apart, so that their
  // segments and events never meet.
  std::int64_t base = dataio::kHostBaseNs;
  for (std::size_t ci = 0; ci < caps.size(); ++ci) {
    const auto& c = caps[ci];
    const std::int64_t n = c.n_samples();
    if (n < L) continue;
    auto t_of = [&](std::int64_t i) {
      return base + static_cast<std::int64_t>(static_cast<double>(i) * period_ns);
    };
    const auto span = training::labelled_span(c);
    if (c.label != cfg.events.null_label && span.count > 0)
      segs.push_back({c.label, t_of(span.first), t_of(span.first + span.count - 1)});
    static const std::vector<training::NearbyGesture> kNone;
    for (const auto& g : nearby.empty() ? kNone : nearby[ci]) {  // clipped to the capture
      const auto a = std::max<std::int64_t>(0, g.span.first);
      const auto b = std::min<std::int64_t>(n - 1, g.span.first + g.span.count - 1);
      if (a <= b) segs.push_back({g.label, t_of(a), t_of(b), false, t_of(L) - t_of(0)});
    }
    sc.boundary();
    for (std::int64_t s = 0; s + L <= n; s += cfg.window.hop) {
      Window w;
      w.length = L;
      w.t_start_host_ns = t_of(s);
      w.t_end_host_ns = t_of(s + L - 1);
      w.t_ready_ns = w.t_end_host_ns;
      w.data.resize(static_cast<std::size_t>(kChannels) * static_cast<std::size_t>(L));
      for (int ch = 0; ch < kChannels; ++ch)
        for (int i = 0; i < L; ++i) w.data[static_cast<std::size_t>(ch * L + i)] = c.at(ch, s + i);
      sc.add(std::move(w));
    }
    duration += t_of(n - 1) - base;
    base = t_of(n - 1) + static_cast<std::int64_t>(10.0 * L * period_ns);
  }
  sc.finish();
  sc.trace.duration_ns = duration;
  auto r = summarise(std::move(sc.trace), sc.predicted, dataio::kHostBaseNs, cfg, model.calibration,
                     match);
  r.source = std::to_string(caps.size()) + " captures";
  r.model_version = model.version;
  return r;
}

namespace {

/// label -> effective parameters, for the classes whose parameters differ from the config's.
nlohmann::json class_params_json(const EvaluateReport& r) {
  nlohmann::json out = nlohmann::json::object();
  const auto base = events::config_params(r.events_cfg);
  for (std::size_t i = 0; i < r.class_params.size() && i < r.classes.size(); ++i) {
    const auto& p = r.class_params[i];
    if (p == base) continue;
    out[r.classes[i]] = {{"onset_threshold", p.onset_threshold},
                         {"release_threshold", p.release_threshold},
                         {"smoothing_windows", p.smoothing_windows},
                         {"min_duration_ms", p.min_duration_ms}};
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const EvaluateReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& e : r.event_rows)
    rows.push_back({{"label", e.label},
                    {"onset_s", e.onset_s},
                    {"offset_s", e.offset_s},
                    {"first_message_s", e.first_message_s},
                    {"confidence", e.confidence},
                    {"outcome", dataio::to_string(e.outcome)}});
  auto w = training::to_json(r.windows, r.classes);
  w["total"] = r.windows_total;
  w["ambiguous"] = r.windows_ambiguous;
  w["labels"] = r.classes;
  const auto& ec = r.events_cfg;
  return {{"source", r.source},
          {"model_version", r.model_version},
          {"data_seconds", r.data_seconds},
          {"windows", w},
          {"events", dataio::to_json(r.events)},
          {"event_list", rows},
          {"events_config",
           {{"onset_threshold", ec.onset_threshold},
            {"release_threshold", ec.release_threshold},
            {"smoothing_windows", ec.smoothing_windows},
            {"margin", ec.margin},
            {"min_duration_ms", ec.min_duration_ms},
            {"refractory_ms", ec.refractory_ms},
            {"calibrated", ec.calibrated && r.calibration != nullptr}}},
          {"class_params", class_params_json(r)}};
}

std::string to_text(const EvaluateReport& r) {
  std::string out = fmt::format("{}: model {}, {:.1f} s of data\n\n", r.source,
                                r.model_version.empty() ? "?" : r.model_version, r.data_seconds);
  const auto& w = r.windows;
  out +=
      fmt::format("windows: {} scored ({} ambiguous left out): accuracy {:.3f}, macro-F1 {:.3f}\n",
                  w.n, r.windows_ambiguous, w.accuracy, w.macro_f1);
  std::size_t width = 8;
  for (const auto& c : r.classes) width = std::max(width, c.size() + 1);
  out += fmt::format("{:<{}}", "truth\\pred", width + 2);
  for (const auto& c : r.classes) out += fmt::format("{:>{}}", c, width);
  out += "\n";
  for (std::size_t i = 0; i < r.classes.size() && i < w.confusion.size(); ++i) {
    if (w.support.size() > i && w.support[i] == 0) continue;
    out += fmt::format("{:<{}}", r.classes[i], width + 2);
    for (const auto v : w.confusion[i]) out += fmt::format("{:>{}}", v, width);
    out += "\n";
  }
  const auto& e = r.events;
  out += fmt::format(
      "\nevents: {} segments, {} events: {} detected, {} fragments, {} false ({} wrong label, {} "
      "in null)\n",
      e.segments, e.events, e.detected, e.fragments, e.false_events, e.wrong_label, e.in_null);
  if (e.ignored > 0)
    out +=
        fmt::format("  {} events of gestures in the captures' context (not scored)\n", e.ignored);
  out += fmt::format("  precision {:.3f}  recall {:.3f}  F1 {:.3f}  fragments/segments {:.3f}\n",
                     e.precision, e.recall, e.f1, e.fragment_fraction);
  out += fmt::format("  false events per hour of null: {:.1f} (over {:.1f} min of null)\n",
                     e.false_per_hour_null, e.null_hours * 60);
  out += fmt::format(
      "  latency to the first message: from segment start p50 {:.2f} s p95 {:.2f} s; from "
      "segment end p50 {:.2f} s p95 {:.2f} s\n",
      e.from_start.p50_s, e.from_start.p95_s, e.from_end.p50_s, e.from_end.p95_s);
  const auto base = events::config_params(r.events_cfg);
  std::string params;
  for (std::size_t i = 0; i < r.class_params.size() && i < r.classes.size(); ++i) {
    const auto& p = r.class_params[i];
    if (p == base) continue;
    params += fmt::format("  {:<{}} onset {:.2f} release {:.3f} smoothing {} min {} ms\n",
                          r.classes[i], width, p.onset_threshold, p.release_threshold,
                          p.smoothing_windows, p.min_duration_ms);
  }
  if (!params.empty())
    out += "\npost-processing per class (the model's calibration" +
           (r.calibration && !r.calibration->rule.empty() ? ": " + r.calibration->rule : "") +
           "):\n" + params;
  out += fmt::format("\n{:<{}} {:>8} {:>8} {:>6} {:>9} {:>6} {:>6} {:>6}\n", "class", width,
                     "segments", "detected", "false", "fragments", "P", "R", "F1");
  for (const auto& [label, c] : e.per_class)
    out += fmt::format("{:<{}} {:>8} {:>8} {:>6} {:>9} {:>6.3f} {:>6.3f} {:>6.3f}\n", label, width,
                       c.segments, c.detected, c.false_events, c.fragments, c.precision, c.recall,
                       c.f1);
  return out;
}

}  // namespace primus::evaluation
