// The daemon's control API: labelling (capture of labelled spans), capture statistics,
// fine-tuning and the model registry, device list, status and reload. docs/control.md.
//
// Threads: handlers run on the control server thread and never block it: device state is read
// and changed on the io thread (asio::post), captures are written by the capture writer thread,
// fine-tuning and activation run on the training service thread. Each replies through its
// Responder from whichever thread finishes the work.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <cmath>

#include "src/app/daemon_impl.h"
#include "src/capture/capture_store.h"
#include "src/capture/ring_capture.h"
#include "src/model/classifier.h"
#include "src/training/dataset.h"

namespace primus::app {
namespace {

using bus::ControlError;
using bus::Responder;
namespace code = bus::control_code;

std::string str_param(const nlohmann::json& p, const char* key) {
  if (!p.contains(key))
    throw ControlError(code::kInvalidParams, std::string("missing \"") + key + "\"");
  if (!p[key].is_string())
    throw ControlError(code::kInvalidParams, std::string("\"") + key + "\" must be a string");
  return p[key].get<std::string>();
}

std::string label_param(const nlohmann::json& p) {
  auto l = str_param(p, "label");
  if (l.empty() || l.size() > capture::kMaxNameBytes)
    throw ControlError(code::kInvalidParams, "\"label\" must be 1..64 bytes");
  for (unsigned char c : l)
    if (c < 0x20 || c == 0x7f)
      throw ControlError(code::kInvalidParams, "\"label\" must not contain control characters");
  return l;
}

double num_param(const nlohmann::json& p, const char* key) {
  if (!p[key].is_number())
    throw ControlError(code::kInvalidParams, std::string("\"") + key + "\" must be a number");
  const double v = p[key].get<double>();
  if (!std::isfinite(v))
    throw ControlError(code::kInvalidParams, std::string("\"") + key + "\" must be finite");
  return v;
}

/// Per (label, device) counts of StoreStats, as labels.list and captures.stats report them.
nlohmann::json by_label_json(const capture::StoreStats& st, bool with_bytes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : st.by_label) {
    nlohmann::json e{{"label", l.label},
                     {"device", l.device},
                     {"captures", l.captures},
                     {"samples", l.samples},
                     {"windows", l.windows}};
    if (with_bytes) e["bytes"] = l.bytes;
    out.push_back(std::move(e));
  }
  return out;
}

void reply_service(const Responder& r, const training::ServiceReply& s) {
  if (s.ok())
    r.ok(s.result);
  else
    r.fail(s.error_code, s.message);
}

}  // namespace

void Daemon::Impl::start_capture_and_training() {
  try {
    const auto db = capture_database(cfg);
    std::filesystem::create_directories(db.parent_path());
    capture::StoreOptions so;
    so.retention = {cfg.capture.max_bytes, cfg.capture.max_age_s};
    auto store = std::make_unique<capture::CaptureStore>(db, so);
    const auto st = store->stats();
    spdlog::info("capture store {}: {} captures, {} samples", db.string(), st.captures, st.samples);
    capture_writer = std::make_unique<capture::CaptureWriter>(
        std::move(store), capture::WriterOptions{static_cast<std::size_t>(cfg.capture.queue)});
  } catch (const std::exception& e) {
    capture_disabled_why = std::string("the capture store is unusable: ") + e.what();
    spdlog::error("labelling disabled: {}", capture_disabled_why);
  }
  try {
    training::TrainingService::Hooks hooks;
    hooks.publish = [this](std::string topic, std::string json) {
      publisher->publish(std::move(topic), std::move(json));
    };
    hooks.swap = [this](std::unique_ptr<model::Classifier> m) {
      return engine->request_swap(std::move(m));
    };
    training = std::make_unique<training::TrainingService>(cfg, std::move(hooks));
    spdlog::info("model registry {}: active version {}", model_registry_dir(cfg).string(),
                 training->startup_version());
  } catch (const std::exception& e) {
    training_disabled_why = std::string("the model registry is unusable: ") + e.what();
    spdlog::error("fine-tuning disabled: {}", training_disabled_why);
  }
}

void Daemon::Impl::start_control() {
  const auto eps = control_endpoints(cfg);
  for (const auto& ep : eps) {
    if (ep.rfind("ipc://", 0) == 0) {
      std::error_code ec;
      const auto dir = std::filesystem::path(ep.substr(6)).parent_path();
      std::filesystem::create_directories(dir, ec);
      if (ec)
        throw std::runtime_error("cannot create the directory of " + ep + ": " + ec.message());
    }
  }
  bus::ControlServerOptions opt;
  opt.max_request_bytes = cfg.control.max_request_bytes;
  opt.max_in_flight = cfg.control.max_in_flight;
  if (!cfg.bus.curve_secret_key.empty())
    opt.curve_secret_z85 = bus::read_curve_key_file(cfg.bus.curve_secret_key);
  control = std::make_unique<bus::ControlServer>(zmq_ctx, eps, opt);
  register_handlers();
  control->start();
  for (const auto& ep : control->endpoints()) spdlog::info("control API on {}", ep);
  if (training) training->start();
}

nlohmann::json Daemon::Impl::devices_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    nlohmann::json lab = nullptr;
    if (d.labelling)
      lab = {{"label", d.labelling->label}, {"since_host_ns", d.labelling->t_start_host_ns}};
    out.push_back({{"id", d.id},
                   {"state", d.state},
                   {"adapter", to_string(cfg.devices[i].adapter)},
                   {"samples", d.source->stats().samples},
                   {"windows", d.windows},
                   {"input_rate_hz", d.pipeline->input_rate_hz()},
                   {"labelling", lab}});
  }
  return {{"devices", out}};
}

nlohmann::json Daemon::Impl::capture_json() const {
  if (!capture_writer) return {{"enabled", false}, {"why", capture_disabled_why}};
  const auto c = capture_writer->counters();
  return {{"enabled", true},
          {"written", c.written},
          {"failed", c.failed},
          {"refused_full", c.refused_full},
          {"refused_invalid", c.refused_invalid},
          {"queue_depth", c.depth}};
}

void Daemon::Impl::capture_span(std::size_t i, std::string label, std::int64_t from_ns,
                                std::int64_t to_ns, Responder reply) {
  if (!capture_writer) return reply.fail(code::kUnavailable, capture_disabled_why);
  const double span_s = static_cast<double>(to_ns - from_ns) / 1e9;
  if (!(span_s >= cfg.capture.min_label_s) || span_s > cfg.capture.max_label_s)
    return reply.fail(code::kInvalidParams,
                      fmt::format("the labelled span is {:.2f} s; it must be between "
                                  "capture.min_label_s = {} s and capture.max_label_s = {} s",
                                  span_s, cfg.capture.min_label_s, cfg.capture.max_label_s));
  // A span shorter than a window is stored with context on both sides, so that every window
  // that contains the whole gesture can be cut for training (docs/training.md).
  // The null class ("nothing happening") gets no context: its windows must lie inside the span.
  const double window_s = cfg.window.length / cfg.window.rate_hz;
  const bool is_null = label == cfg.events.null_label;
  const auto pad_ns =
      is_null ? 0 : static_cast<std::int64_t>(std::max(0.0, window_s - span_s) * 1e9);
  // Wait for the newest sample of the span (+ context) for at most 2 s past its end.
  const std::int64_t give_up = to_ns + pad_ns + 2'000'000'000;
  try_capture(i, std::move(label), from_ns, to_ns, from_ns - pad_ns, to_ns + pad_ns, give_up,
              std::move(reply));
}

void Daemon::Impl::try_capture(std::size_t i, std::string label, std::int64_t from_ns,
                               std::int64_t to_ns, std::int64_t ctx_from_ns, std::int64_t ctx_to_ns,
                               std::int64_t give_up_ns, Responder reply) {
  if (stopping) return reply.fail(code::kUnavailable, "the daemon is stopping");
  auto& d = devices[i];
  const double rate = cfg.window.rate_hz;
  auto span = capture::copy_ring_span(d.pipeline->ring(), ctx_from_ns, ctx_to_ns, rate);
  using St = capture::RingSpan::Status;
  if (span.status == St::kNotYet || span.status == St::kEmpty) {
    if (clock.now_ns() > give_up_ns) {
      // The context after the span never came (device stopped): keep what there is.
      if (ctx_to_ns > to_ns)
        return try_capture(i, std::move(label), from_ns, to_ns, ctx_from_ns, to_ns, give_up_ns,
                           std::move(reply));
      return reply.fail(
          code::kUnavailable,
          "device " + d.id + " delivered no samples for the labelled span (" + span.why + ")");
    }
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
    timer->async_wait([this, timer, i, label = std::move(label), from_ns, to_ns, ctx_from_ns,
                       ctx_to_ns, give_up_ns, reply](const boost::system::error_code& ec) mutable {
      if (ec) return reply.fail(code::kUnavailable, "the daemon is stopping");
      try_capture(i, std::move(label), from_ns, to_ns, ctx_from_ns, ctx_to_ns, give_up_ns,
                  std::move(reply));
    });
    return;
  }
  if (span.status == St::kNotInHistory && ctx_from_ns < from_ns)  // no context before: go without
    return try_capture(i, std::move(label), from_ns, to_ns, from_ns, ctx_to_ns, give_up_ns,
                       std::move(reply));
  if (span.status != St::kOk)
    return reply.fail(code::kUnavailable, "device " + d.id + ": " + span.why);
  std::int64_t first = -1, count = 0;
  for (std::size_t k = 0; k < span.frames.size(); ++k) {
    const auto t = span.frames[k].t_host_ns;
    if (t >= from_ns && t <= to_ns) {
      if (first < 0) first = static_cast<std::int64_t>(k);
      ++count;
    }
  }
  if (first < 0)
    return reply.fail(code::kUnavailable, "no sample of " + d.id + " lies in the span");
  const auto& dc = cfg.devices[i];
  nlohmann::json conv{{"label_first", first},
                      {"label_count", count},
                      {"label_from_host_ns", from_ns},
                      {"label_to_host_ns", to_ns},
                      {"adapter", to_string(dc.adapter)},
                      {"acc_unit_in", dc.acc_unit == AccUnit::kG ? "g" : "m/s2"},
                      {"gyro_unit_in", dc.gyro_unit == GyroUnit::kDegPerSec ? "deg/s" : "rad/s"},
                      {"gyro_source", dc.gyro_source == GyroSource::kMeasured         ? "measured"
                                      : dc.gyro_source == GyroSource::kFromQuaternion ? "quaternion"
                                                                                      : "auto"},
                      {"axis_perm", dc.axis_map.perm},
                      {"axis_sign", dc.axis_map.sign},
                      {"window_length", cfg.window.length}};
  const double src_rate =
      d.pipeline->input_rate_hz() > 0 ? d.pipeline->input_rate_hz() : dc.rate_hz;
  capture::CaptureRecord rec;
  try {
    rec = capture::record_from_frames(span.frames, d.id, label, rate, src_rate, conv.dump());
  } catch (const std::exception& e) {
    return reply.fail(code::kInternal, e.what());
  }
  const auto n = rec.n_samples();
  const auto windows = static_cast<std::int64_t>(
      training::window_starts(n, {first, count}, cfg.window.length, cfg.training.stride).size());
  std::string why;
  const auto r = capture_writer->submit(
      std::move(rec),
      [reply, id = d.id, label, n, count, from_ns, to_ns, rate,
       windows](const capture::AppendOutcome& o) {
        if (!o.ok()) return reply.fail(code::kInternal, "capture not stored: " + o.error);
        spdlog::info("captured {} on {}: {:.2f} s labelled (capture {}, {} samples with context)",
                     label, id, static_cast<double>(count) / rate, o.id, n);
        reply.ok({{"capture_id", o.id},
                  {"device", id},
                  {"label", label},
                  {"samples", count},
                  {"stored_samples", n},
                  {"windows", windows},
                  {"seconds", static_cast<double>(count) / rate},
                  {"t_start_host_ns", from_ns},
                  {"t_end_host_ns", to_ns}});
      },
      &why);
  switch (r) {
    case capture::SubmitResult::kQueued:
      return;
    case capture::SubmitResult::kFull:
      return reply.fail(code::kBusy, "the capture store is busy (queue full); try again");
    case capture::SubmitResult::kStopped:
      return reply.fail(code::kUnavailable, "the daemon is stopping");
    case capture::SubmitResult::kInvalid:
      return reply.fail(code::kInvalidParams, why);
  }
}

void Daemon::Impl::register_handlers() {
  auto on_io = [this](const Responder& reply, std::function<nlohmann::json()> fn) {
    asio::post(io, [reply, fn = std::move(fn)] {
      try {
        reply.ok(fn());
      } catch (const ControlError& e) {
        reply.fail(e.code(), e.what());
      } catch (const std::exception& e) {
        reply.fail(code::kInternal, e.what());
      }
    });
  };
  auto device_index = [this](const nlohmann::json& p) {
    const auto id = str_param(p, "device");
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].id == id) return i;
    std::string known;
    for (const auto& d : devices) known += (known.empty() ? "" : ", ") + d.id;
    throw ControlError(code::kNotFound, "no device \"" + id + "\" (devices: " + known + ")");
  };

  control->on("status", [this, on_io](const nlohmann::json&, const Responder& r) {
    on_io(r, [this] {
      std::string summary;
      return nlohmann::json::parse(status_json(summary));
    });
  });
  control->on("devices.list", [this, on_io](const nlohmann::json&, const Responder& r) {
    on_io(r, [this] { return devices_json(); });
  });
  control->on("config.reload", [this, on_io](const nlohmann::json&, const Responder& r) {
    on_io(r, [this] {
      if (cfg.source.empty())
        throw ControlError(code::kUnavailable, "the configuration did not come from a file");
      try {
        return reload_config("config.reload");
      } catch (const ConfigError& e) {
        throw ControlError(code::kInvalidParams, std::string("configuration refused: ") + e.what());
      }
    });
  });
  control->on("label.start", [this, device_index](const nlohmann::json& p, const Responder& r) {
    const auto label = label_param(p);
    const auto i = device_index(p);
    if (!capture_writer) throw ControlError(code::kUnavailable, capture_disabled_why);
    asio::post(io, [this, i, label, r] {
      auto& d = devices[i];
      if (d.labelling)
        return r.fail(code::kConflict, "device " + d.id + " is already labelling \"" +
                                           d.labelling->label + "\"; label.stop first");
      d.labelling = Device::Labelling{label, clock.now_ns()};
      spdlog::info("labelling {} on {} started", label, d.id);
      r.ok({{"device", d.id}, {"label", label}, {"t_start_host_ns", d.labelling->t_start_host_ns}});
    });
  });
  control->on("label.stop", [this, device_index](const nlohmann::json& p, const Responder& r) {
    const auto i = device_index(p);
    asio::post(io, [this, i, r] {
      auto& d = devices[i];
      if (!d.labelling) return r.fail(code::kConflict, "device " + d.id + " is not labelling");
      auto lab = std::move(*d.labelling);
      d.labelling.reset();
      capture_span(i, lab.label, lab.t_start_host_ns, clock.now_ns(), r);
    });
  });
  control->on("label.mark", [this, device_index](const nlohmann::json& p, const Responder& r) {
    const auto label = label_param(p);
    const auto i = device_index(p);
    std::int64_t from = 0, to = 0;
    const bool has_last = p.contains("last_s");
    const bool has_span = p.contains("from_host_ns") || p.contains("to_host_ns");
    if (has_last == has_span)
      throw ControlError(code::kInvalidParams,
                         "give either \"last_s\" or both \"from_host_ns\" and \"to_host_ns\"");
    if (has_last) {
      const double s = num_param(p, "last_s");
      if (!(s > 0)) throw ControlError(code::kInvalidParams, "\"last_s\" must be > 0");
      to = clock.now_ns();
      from = to - static_cast<std::int64_t>(s * 1e9);
    } else {
      if (!p.contains("from_host_ns") || !p.contains("to_host_ns") ||
          !p["from_host_ns"].is_number_integer() || !p["to_host_ns"].is_number_integer())
        throw ControlError(code::kInvalidParams,
                           "\"from_host_ns\" and \"to_host_ns\" must both be integers "
                           "(CLOCK_MONOTONIC ns)");
      from = p["from_host_ns"].get<std::int64_t>();
      to = p["to_host_ns"].get<std::int64_t>();
      if (to <= from)
        throw ControlError(code::kInvalidParams, "\"to_host_ns\" must be after \"from_host_ns\"");
      if (to > clock.now_ns() + 60'000'000'000LL)
        throw ControlError(code::kInvalidParams, "the span ends more than 60 s in the future");
    }
    asio::post(io, [this, i, label, from, to, r] { capture_span(i, label, from, to, r); });
  });
  auto store_task = [this](const Responder& r,
                           std::function<nlohmann::json(capture::CaptureStore&)> fn) {
    if (!capture_writer) return r.fail(code::kUnavailable, capture_disabled_why);
    const auto res = capture_writer->post([r, fn = std::move(fn)](capture::CaptureStore& s) {
      try {
        r.ok(fn(s));
      } catch (const std::exception& e) {
        r.fail(code::kInternal, e.what());
      }
    });
    if (res == capture::SubmitResult::kFull) r.fail(code::kBusy, "the capture store is busy");
    if (res == capture::SubmitResult::kStopped)
      r.fail(code::kUnavailable, "the daemon is stopping");
  };
  control->on("labels.list", [this, store_task](const nlohmann::json&, const Responder& r) {
    const auto model_labels = engine->labels();
    store_task(r, [this, model_labels](capture::CaptureStore& s) {
      const auto st = s.stats(cfg.window.length, cfg.training.stride);
      return nlohmann::json{{"model_labels", model_labels}, {"captured", by_label_json(st, false)}};
    });
  });
  control->on("captures.stats", [this, store_task](const nlohmann::json&, const Responder& r) {
    store_task(r, [this](capture::CaptureStore& s) {
      const auto st = s.stats(cfg.window.length, cfg.training.stride);
      return nlohmann::json{{"database", s.path().string()},
                            {"captures", st.captures},
                            {"samples", st.samples},
                            {"bytes", st.bytes},
                            {"windows", st.windows},
                            {"file_bytes", st.file_bytes},
                            {"max_bytes", cfg.capture.max_bytes},
                            {"max_age_s", cfg.capture.max_age_s},
                            {"evicted", s.counters().evicted},
                            {"by_label", by_label_json(st, true)}};
    });
  });
  control->on("finetune.run", [this](const nlohmann::json& p, const Responder& r) {
    if (!training) throw ControlError(code::kUnavailable, training_disabled_why);
    std::optional<FinetuneMode> mode;
    if (p.contains("mode")) {
      const auto m = str_param(p, "mode");
      if (m == "head")
        mode = FinetuneMode::kHead;
      else if (m == "full")
        mode = FinetuneMode::kFull;
      else if (m == "staged")
        mode = FinetuneMode::kStaged;
      else
        throw ControlError(code::kInvalidParams, "\"mode\" must be head, full or staged");
    }
    const bool wait = p.value("wait", false);
    auto q = training->request_finetune(mode, [r, wait](const training::ServiceReply& s) {
      if (wait) reply_service(r, s);
    });
    if (!q.ok()) return r.fail(q.error_code, q.message);
    if (!wait) r.ok(q.result);
  });
  control->on("finetune.status", [this](const nlohmann::json&, const Responder& r) {
    if (!training) throw ControlError(code::kUnavailable, training_disabled_why);
    r.ok(training->status());
  });
  control->on("models.list", [this](const nlohmann::json&, const Responder& r) {
    if (!training) throw ControlError(code::kUnavailable, training_disabled_why);
    r.ok(training->models());
  });
  control->on("models.activate", [this](const nlohmann::json& p, const Responder& r) {
    if (!training) throw ControlError(code::kUnavailable, training_disabled_why);
    if (!p.contains("version") || !p["version"].is_number_integer() || p["version"].get<int>() < 0)
      throw ControlError(code::kInvalidParams, "\"version\" must be an integer >= 0");
    training->request_activate(p["version"].get<int>(), p.value("force", false),
                               [r](const training::ServiceReply& s) { reply_service(r, s); });
  });
  control->on("models.rollback", [this](const nlohmann::json& p, const Responder& r) {
    if (!training) throw ControlError(code::kUnavailable, training_disabled_why);
    std::optional<int> v;
    if (p.contains("version")) {
      if (!p["version"].is_number_integer() || p["version"].get<int>() < 0)
        throw ControlError(code::kInvalidParams, "\"version\" must be an integer >= 0");
      v = p["version"].get<int>();
    }
    training->request_rollback(v, [r](const training::ServiceReply& s) { reply_service(r, s); });
  });
}

}  // namespace primus::app
