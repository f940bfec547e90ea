#include "src/app/status_report.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "src/app/metrics_server.h"
#include "src/app/mqtt_part.h"
#include "src/core/version.h"
#include "src/events/event_types.h"

namespace primus::app {
namespace {

nlohmann::json source_json(const adapters::SourceStats& s) {
  nlohmann::json drops = nlohmann::json::object();
  for (std::size_t r = 0; r < adapters::codecs::kDropReasonCount; ++r) {
    if (s.drops[r])
      drops[adapters::codecs::to_string(static_cast<adapters::codecs::DropReason>(r))] = s.drops[r];
  }
  return {{"bytes", s.bytes},
          {"reconnects", s.reconnects},
          {"outages", s.outages},
          {"downtime_ns", s.downtime_ns},
          {"garbage_bytes", s.garbage_bytes},
          {"unrouted", s.unrouted},
          {"backlog_dropped", s.backlog_dropped},
          {"drops", drops}};
}

nlohmann::json summary_json(const RecentPercentiles::Summary& s) {
  return {{"n", s.n},     {"mean", s.mean}, {"p50", s.p50},
          {"p90", s.p90}, {"p99", s.p99},   {"max", s.max}};
}

nlohmann::json counters_json(const signal::PipelineCounters& c) {
  return {{"samples_in", c.samples_in},
          {"samples_used", c.samples_used},
          {"dropped_duplicate", c.dropped_duplicate},
          {"out_of_order", c.out_of_order},
          {"samples_lost", c.samples_lost},
          {"gaps_bridged", c.gaps_bridged},
          {"gaps_reset", c.gaps_reset},
          {"bad_quat", c.bad_quat},
          {"quat_renormalised", c.quat_renormalised},
          {"nan_dropped", c.nan_dropped},
          {"missing_fields", c.missing_fields},
          {"clock_jumps", c.clock_jumps},
          {"restarts", c.restarts},
          {"ring_overflow", c.ring_overflow},
          {"frames_out", c.frames_out},
          {"frames_interpolated", c.frames_interpolated},
          {"windows_out", c.windows_out},
          {"timing_stalls", c.timing_stalls},
          {"timing_resyncs", c.timing_resyncs}};
}

nlohmann::json control_json(const bus::ControlServerStats& s) {
  return {{"requests", s.requests},
          {"replies_ok", s.replies_ok},
          {"replies_error", s.replies_error},
          {"replies_dropped", s.replies_dropped},
          {"bad_frames", s.bad_frames},
          {"busy", s.busy},
          {"send_failed", s.send_failed},
          {"deferred", s.deferred},
          {"backlog", s.backlog},
          {"backlog_bytes", s.backlog_bytes},
          {"backlog_high_water", s.backlog_high_water},
          {"in_flight", s.in_flight}};
}
}  // namespace

StatusReport::StatusReport(Parts& parts, const std::atomic<bool>& ready,
                           const std::atomic<std::uint64_t>& io_exceptions)
    : p_(parts), ready_(ready), io_exceptions_(io_exceptions), memo_(parts.devices.size()) {}

nlohmann::json StatusReport::capture_json() const {
  if (!p_.capture_writer) return {{"enabled", false}, {"why", p_.capture_disabled_why}};
  const auto c = p_.capture_writer->counters();
  return {{"enabled", true},
          {"written", c.written},
          {"failed", c.failed},
          {"storage_full", c.storage_full},
          {"refused_full", c.refused_full},
          {"refused_invalid", c.refused_invalid},
          {"queue_depth", c.depth}};
}

// Per-device lines are built on the io thread (pipelines are not thread-safe) and cached.
void StatusReport::refresh_device_metrics() {
  PromWriter w;
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const DeviceSlot&)> get;
  };
  const std::vector<Metric> metrics_list{
      {"primusd_device_samples_total", "counter", "Samples delivered by the source.",
       [](const DeviceSlot& d) { return static_cast<double>(d.source->stats().samples); }},
      {"primusd_device_decode_errors_total", "counter", "Frames or rows the codec dropped.",
       [](const DeviceSlot& d) { return static_cast<double>(d.source->stats().decode_errors); }},
      {"primusd_device_windows_total", "counter", "Windows formed.",
       [](const DeviceSlot& d) { return static_cast<double>(d.windows); }},
      {"primusd_device_connected", "gauge", "1 when the source is connected.",
       [](const DeviceSlot& d) { return d.state == "connected" ? 1.0 : 0.0; }},
      {"primusd_device_input_rate_hz", "gauge", "Input rate measured by the clock map.",
       [](const DeviceSlot& d) { return d.pipeline->input_rate_hz(); }},
      {"primusd_device_clock_offset_seconds", "gauge", "Host minus device clock.",
       [](const DeviceSlot& d) { return d.pipeline->clock_offset_s(); }},
      {"primusd_device_clock_drift_ppm", "gauge", "Device clock drift.",
       [](const DeviceSlot& d) { return d.pipeline->clock_drift_ppm(); }},
  };
  for (const auto& m : metrics_list) {
    w.help(m.name, m.type, m.help);
    for (const auto& d : p_.devices) w.sample(m.name, fmt::format("device=\"{}\"", d.id), m.get(d));
  }
  w.help("primusd_device_dropped_total", "counter",
         "Samples dropped or repaired by the pipeline, by reason.");
  for (const auto& d : p_.devices) {
    const auto j = counters_json(d.pipeline->counters());
    for (const char* reason :
         {"dropped_duplicate", "out_of_order", "samples_lost", "gaps_bridged", "gaps_reset",
          "bad_quat", "nan_dropped", "missing_fields", "clock_jumps", "restarts", "ring_overflow",
          "timing_stalls", "timing_resyncs"}) {
      w.sample("primusd_device_dropped_total",
               fmt::format("device=\"{}\",reason=\"{}\"", d.id, reason), j[reason].get<double>());
    }
  }
  std::lock_guard lk(device_metrics_mu_);
  device_metrics_ = std::move(w.out);
}

namespace {

void counter(PromWriter& w, const char* name, const char* help, double v) {
  w.help(name, "counter", help);
  w.sample(name, "", v);
}

void gauge(PromWriter& w, const char* name, const char* help, double v) {
  w.help(name, "gauge", help);
  w.sample(name, "", v);
}

void histogram(PromWriter& w, const char* name, const char* help, const Histogram& h) {
  const auto s = h.snapshot();
  w.help(name, "histogram", help);
  for (std::size_t i = 0; i < s.bounds.size(); ++i)
    w.sample(std::string(name) + "_bucket", fmt::format("le=\"{}\"", s.bounds[i]),
             static_cast<double>(s.cumulative[i]));
  w.sample(std::string(name) + "_bucket", "le=\"+Inf\"", static_cast<double>(s.cumulative.back()));
  w.sample(std::string(name) + "_sum", "", s.sum);
  w.sample(std::string(name) + "_count", "", static_cast<double>(s.count));
}

double d(std::uint64_t v) { return static_cast<double>(v); }

/// The inference path: batcher, engine, events stage.
void inference_metrics(PromWriter& w, const Parts& p) {
  const auto bs = p.batcher->stats();
  const auto es = p.engine->stats();
  const auto vs = p.events->stats();
  gauge(w, "primusd_batcher_depth", "Windows waiting for inference.", d(bs.depth));
  counter(w, "primusd_batcher_enqueued_total", "Windows queued for inference.", d(bs.enqueued));
  counter(w, "primusd_batcher_dropped_overload_total",
          "Windows dropped because the queue was full.", d(bs.dropped_overload));
  counter(w, "primusd_batcher_expired_total",
          "Windows dropped for waiting longer than max_queue_delay_us.", d(bs.expired));
  counter(w, "primusd_inference_windows_total", "Windows scored.", d(es.windows));
  counter(w, "primusd_inference_batches_total", "Model calls.", d(es.batches));
  counter(w, "primusd_inference_failed_batches_total", "Model calls that failed.",
          d(es.failed_batches));
  counter(w, "primusd_model_swaps_total", "Models swapped in.", d(es.swaps));
  counter(w, "primusd_events_total", "Gesture events published.", d(vs.events));
  counter(w, "primusd_events_rejected_ambiguous_total", "Windows rejected by the margin rule.",
          d(vs.rejected_ambiguous));
  counter(w, "primusd_events_too_short_total", "Gestures discarded for min_duration_ms.",
          d(vs.too_short));
  counter(w, "primusd_events_suppressed_refractory_total",
          "Windows that would have started a gesture of a class in its refractory time.",
          d(vs.suppressed_refractory));
  counter(w, "primusd_events_dropped_total",
          "Scored windows dropped because the events stage's queue was full.",
          d(vs.dropped_windows));
  gauge(w, "primusd_events_depth", "Scored windows waiting for post-processing.", d(vs.depth));
  const auto& h = p.engine->histograms();
  histogram(w, "primusd_window_latency_seconds",
            "Window complete to its messages handed to the bus.", p.events->latency_histogram());
  histogram(w, "primusd_batch_compute_seconds", "Model time per batch.", h.compute_s);
  histogram(w, "primusd_window_queue_seconds", "Window complete to its batch formed.", h.queue_s);
  histogram(w, "primusd_batch_size", "Windows per model call.", h.batch_size);
}

/// The side parts: capture writer, publisher, control socket.
void side_metrics(PromWriter& w, const Parts& p) {
  if (p.capture_writer) {
    const auto cc = p.capture_writer->counters();
    counter(w, "primusd_capture_written_total", "Captures committed.", d(cc.written));
    counter(w, "primusd_capture_failed_total", "Captures not stored.", d(cc.failed));
    counter(w, "primusd_capture_storage_full_total",
            "Captures not stored because the disk (or the store's size limit) was full.",
            d(cc.storage_full));
  }
  const auto ps = p.publisher->stats();
  counter(w, "primusd_bus_published_total", "Messages handed to ZeroMQ.", d(ps.published));
  counter(w, "primusd_bus_dropped_total", "Messages dropped because the publisher queue was full.",
          d(ps.dropped_queue));
  counter(w, "primusd_bus_send_failed_total", "Messages ZeroMQ refused.", d(ps.send_failed));
  if (!p.control) return;
  const auto cs = p.control->stats();
  counter(w, "primusd_control_requests_total", "Control requests received.", d(cs.requests));
  counter(w, "primusd_control_errors_total", "Control replies that were errors.",
          d(cs.replies_error));
  counter(w, "primusd_control_bad_frames_total", "Control messages with a bad envelope.",
          d(cs.bad_frames));
  counter(w, "primusd_control_busy_total", "Control requests refused with busy.", d(cs.busy));
  counter(w, "primusd_control_send_failed_total", "Control replies ZeroMQ refused.",
          d(cs.send_failed));
  counter(w, "primusd_control_replies_dropped_total",
          "Control replies dropped (client gone, backlog over its byte bound, stop).",
          d(cs.replies_dropped));
  gauge(w, "primusd_control_backlog", "Control replies waiting for a client to read.",
        d(cs.backlog));
}

}  // namespace

std::string StatusReport::render_metrics() {
  PromWriter w;
  gauge(w, "primusd_ready", "1 once sources are open and the model is loaded.",
        ready_.load() ? 1 : 0);
  counter(w, "primusd_io_exceptions_total",
          "Unexpected exceptions the io loop logged and survived.", d(io_exceptions_.load()));
  inference_metrics(w, p_);
  side_metrics(w, p_);
  mqtt_metrics(w, p_);
  std::lock_guard lk(device_metrics_mu_);
  return w.out + device_metrics_;
}

// One line per device and at most one every 10 s, naming what was dropped since the last line.
void StatusReport::warn_about_drops(std::size_t i) {
  const auto& d = p_.devices[i];
  auto& m = memo_[i];
  const auto now = std::chrono::steady_clock::now();
  if (now - m.last_warning < std::chrono::seconds(10)) return;
  const auto& c = d.pipeline->counters();
  const auto& p = m.last_counters;
  std::string what;
  auto add = [&](const char* name, std::uint64_t now_v, std::uint64_t then_v) {
    if (now_v > then_v)
      what += fmt::format("{}{} {}", what.empty() ? "" : ", ", now_v - then_v, name);
  };
  // A reset() zeroes the counters: compare against zero then.
  const bool was_reset = c.samples_in < p.samples_in;
  const signal::PipelineCounters zero{};
  const auto& base = was_reset ? zero : p;
  add("duplicates", c.dropped_duplicate, base.dropped_duplicate);
  add("out of order", c.out_of_order, base.out_of_order);
  add("lost (sequence gaps)", c.samples_lost, base.samples_lost);
  add("gaps that restarted the window", c.gaps_reset, base.gaps_reset);
  add("bad quaternions", c.bad_quat, base.bad_quat);
  add("NaN/inf samples", c.nan_dropped, base.nan_dropped);
  add("samples without angular velocity", c.missing_fields, base.missing_fields);
  add("clock jumps", c.clock_jumps, base.clock_jumps);
  add("device restarts", c.restarts, base.restarts);
  add("timing resyncs (arrivals fell behind for good)", c.timing_resyncs, base.timing_resyncs);
  // ring_overflow is not warned about: once the history ring holds its 60 s, every new frame
  // replaces the oldest one. That is the ring doing its job, not a loss (still in status).
  m.last_counters = c;
  if (what.empty()) return;
  m.last_warning = now;
  spdlog::warn("device {}: {} since the last report", d.id, what);
}

std::string StatusReport::status_json(std::string& summary) {
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_status_).count();
  last_status_ = now;
  nlohmann::json devs = nlohmann::json::array();
  std::size_t connected = 0;
  memo_.resize(p_.devices.size());
  for (std::size_t i = 0; i < p_.devices.size(); ++i) {
    const auto& d = p_.devices[i];
    const auto& ss = d.source->stats();
    const auto& pc = d.pipeline->counters();
    warn_about_drops(i);
    const double rate =
        dt > 0 ? static_cast<double>(ss.samples - memo_[i].samples_at_last_status) / dt : 0;
    memo_[i].samples_at_last_status = ss.samples;
    if (d.state == "connected") ++connected;
    devs.push_back({{"id", d.id},
                    {"state", d.state},
                    {"samples", ss.samples},
                    {"rate_hz", rate},
                    {"input_rate_hz", d.pipeline->input_rate_hz()},
                    {"windows", d.windows},
                    {"decode_errors", ss.decode_errors},
                    {"clock_offset_s", d.pipeline->clock_offset_s()},
                    {"clock_drift_ppm", d.pipeline->clock_drift_ppm()},
                    {"source", source_json(ss)},
                    {"pipeline", counters_json(pc)}});
  }
  refresh_device_metrics();
  const auto bs = p_.batcher->stats();
  const auto es = p_.engine->stats();
  const auto vs = p_.events->stats();
  const auto ps = p_.publisher->stats();
  nlohmann::json j{
      {"version", std::string(version())},
      {"uptime_s", std::chrono::duration<double>(now - started_).count()},
      {"model",
       {{"version", p_.engine->model_version()},
        {"device", p_.engine->device_name()},
        {"labels", p_.engine->labels()}}},
      {"devices", devs},
      {"batcher",
       {{"depth", bs.depth},
        {"capacity", p_.cfg.batcher.queue},
        {"enqueued", bs.enqueued},
        {"dropped_overload", bs.dropped_overload},
        {"expired", bs.expired}}},
      {"inference",
       {{"windows", es.windows},
        {"batches", es.batches},
        {"windows_per_s", es.windows_per_s},
        {"mean_batch", es.mean_batch},
        {"instances", es.instances},
        {"path", es.path},
        {"events", vs.events},
        {"swaps", es.swaps},
        {"failed_batches", es.failed_batches},
        {"rejected_ambiguous", vs.rejected_ambiguous},
        {"too_short", vs.too_short},
        {"suppressed_refractory", vs.suppressed_refractory},
        {"discontinuities", vs.discontinuities},
        {"compute_ms", summary_json(es.compute_ms)},
        {"queue_ms", summary_json(es.queue_ms)},
        {"latency_ms", summary_json(vs.latency_ms)}}},
      {"events",
       {{"depth", vs.depth},
        {"dropped_windows", vs.dropped_windows},
        {"dropped_batches", vs.dropped_batches}}},
      {"training", p_.training ? p_.training->status() : nlohmann::json(nullptr)},
      {"capture", capture_json()},
      {"bus",
       {{"published", ps.published},
        {"dropped_queue", ps.dropped_queue},
        {"send_failed", ps.send_failed},
        {"curve_denied", p_.zap ? p_.zap->denied() : 0}}},
      {"control", p_.control ? control_json(p_.control->stats()) : nlohmann::json(nullptr)},
      {"mqtt", mqtt_status_json(p_)},
      {"web", p_.web ? p_.web->status_json() : nlohmann::json(nullptr)},
      {"io_exceptions", io_exceptions_.load()}};
  summary =
      fmt::format("{}/{} devices connected, {:.0f} windows/s, {} events, p99 {:.1f} ms", connected,
                  p_.devices.size(), es.windows_per_s, vs.events, vs.latency_ms.p99);
  return events::envelope_json(std::move(j), "status");
}

}  // namespace primus::app
