#include "src/app/daemon_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cmath>

#include "src/capture/capture_store.h"

namespace primus::app {
namespace {

using service::Errc;
using service::Result;
using service::ServiceError;

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

/// One capture of captures.list; `windows` as training cuts them (window.length, training.stride).
nlohmann::json capture_json(const capture::CaptureInfo& c, int window, int stride) {
  const std::int64_t windows =
      (c.n_samples >= window && stride > 0) ? (c.n_samples - window) / stride + 1 : 0;
  return {{"id", c.id},
          {"device", c.device},
          {"label", c.label},
          {"samples", c.n_samples},
          {"windows", windows},
          {"duration_s", c.rate_hz > 0 ? static_cast<double>(c.n_samples) / c.rate_hz : 0.0},
          {"t_start_host_ns", c.t_start_host_ns},
          {"t_end_host_ns", c.t_end_host_ns},
          {"created_wall_ns", c.created_wall_ns}};
}

Errc errc_of(const std::string& code) {
  for (auto c : {Errc::kInvalidParams, Errc::kNotFound, Errc::kConflict, Errc::kBusy,
                 Errc::kUnavailable, Errc::kTimeout})
    if (code == service::to_string(c)) return c;
  return Errc::kInternal;
}

/// The training service's reply as a Result.
Result from_training(const training::ServiceReply& s) {
  if (s.ok()) return Result::ok(s.result);
  return Result::fail(errc_of(s.error_code), s.message);
}

/// A registry version number, range-checked as the 64-bit value the caller gave.
int registry_version(std::int64_t version) {
  if (version < 0 || version > service::kMaxModelVersion)
    throw ServiceError(Errc::kInvalidParams,
                       fmt::format("\"version\" = {}: must be an integer in 0..{}", version,
                                   service::kMaxModelVersion));
  return static_cast<int>(version);
}

/// Run fn, turning a ServiceError or any exception into the failure `done` hears.
template <typename Fn>
void guarded(const service::Done& done, Fn&& fn) {
  try {
    fn();
  } catch (const ServiceError& e) {
    done(Result::fail(e.code(), e.what()));
  } catch (const std::exception& e) {
    done(Result::fail(Errc::kInternal, e.what()));
  }
}

}  // namespace

void DaemonService::on_io(service::Done done, std::function<Result()> fn) {
  boost::asio::post(
      p_.io, [done = std::move(done), fn = std::move(fn)] { guarded(done, [&] { done(fn()); }); });
}

void DaemonService::on_store(service::Done done,
                             std::function<nlohmann::json(capture::CaptureStore&)> fn) {
  if (!p_.capture_writer) return done(Result::fail(Errc::kUnavailable, p_.capture_disabled_why));
  const auto res = p_.capture_writer->post([done, fn = std::move(fn)](capture::CaptureStore& s) {
    guarded(done, [&] { done(Result::ok(fn(s))); });
  });
  if (res == capture::SubmitResult::kFull)
    done(Result::fail(Errc::kBusy, "the capture store is busy"));
  if (res == capture::SubmitResult::kStopped)
    done(Result::fail(Errc::kUnavailable, "the daemon is stopping"));
}

std::size_t DaemonService::device_index(const std::string& id) const {
  for (std::size_t i = 0; i < p_.devices.size(); ++i)
    if (p_.devices[i].id == id) return i;
  std::string known;
  for (const auto& d : p_.devices) known += (known.empty() ? "" : ", ") + d.id;
  throw ServiceError(Errc::kNotFound, "no device \"" + id + "\" (devices: " + known + ")");
}

void DaemonService::need_training() const {
  if (!p_.training) throw ServiceError(Errc::kUnavailable, p_.training_disabled_why);
}

void DaemonService::status(service::Done done) {
  on_io(std::move(done), [this] {
    std::string summary;
    return Result::ok(nlohmann::json::parse(status_.status_json(summary)));
  });
}

void DaemonService::devices(service::Done done) {
  on_io(std::move(done), [this] {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < p_.devices.size(); ++i) {
      const auto& d = p_.devices[i];
      out.push_back({{"id", d.id},
                     {"state", d.state},
                     {"adapter", to_string(p_.cfg.devices[i].adapter)},
                     {"samples", d.source->stats().samples},
                     {"windows", d.windows},
                     {"input_rate_hz", d.pipeline->input_rate_hz()},
                     {"labelling", labeller_.open_label_json(i)}});
    }
    return Result::ok({{"devices", out}});
  });
}

void DaemonService::reload(service::Done done) {
  boost::asio::post(p_.io,
                    [this, done = std::move(done)] { guarded(done, [&] { reload_(done); }); });
}

void DaemonService::label_start(const std::string& device, const std::string& label,
                                service::Done done) {
  guarded(done, [&] {
    service::check_label(label);
    const auto i = device_index(device);
    boost::asio::post(p_.io, [this, i, label, done] { labeller_.start(i, label, done); });
  });
}

void DaemonService::label_stop(const std::string& device, service::Done done) {
  guarded(done, [&] {
    const auto i = device_index(device);
    boost::asio::post(p_.io, [this, i, done] { labeller_.stop(i, done); });
  });
}

void DaemonService::label_mark(const std::string& device, const std::string& label,
                               service::MarkSpan span, service::Done done) {
  guarded(done, [&] {
    service::check_label(label);
    const auto i = device_index(device);
    std::int64_t from = 0, to = 0;
    if (span.last_s) {
      const double s = *span.last_s;
      // Bounded so the arithmetic below is exact; the ring holds far less anyway.
      if (!std::isfinite(s) || !(s > 0) || s > 86400)
        throw ServiceError(Errc::kInvalidParams,
                           fmt::format("\"last_s\" = {}: must be in (0, 86400]", s));
      to = p_.clock.now_ns();
      from = to - static_cast<std::int64_t>(s * 1e9);
    } else {
      if (!span.from_host_ns || !span.to_host_ns)
        throw ServiceError(Errc::kInvalidParams,
                           "give either \"last_s\" or both \"from_host_ns\" and \"to_host_ns\"");
      from = *span.from_host_ns;
      to = *span.to_host_ns;
      if (from < 0)
        throw ServiceError(
            Errc::kInvalidParams,
            fmt::format("\"from_host_ns\" = {}: must be >= 0 (CLOCK_MONOTONIC ns)", from));
      if (to <= from)
        throw ServiceError(Errc::kInvalidParams, "\"to_host_ns\" must be after \"from_host_ns\"");
      if (to > p_.clock.now_ns() + 60'000'000'000LL)
        throw ServiceError(Errc::kInvalidParams, "the span ends more than 60 s in the future");
    }
    boost::asio::post(
        p_.io, [this, i, label, from, to, done] { labeller_.mark(i, label, from, to, done); });
  });
}

void DaemonService::labels(service::Done done) {
  const auto model_labels = p_.engine->labels();
  on_store(std::move(done), [this, model_labels](capture::CaptureStore& s) {
    const auto st = s.stats(p_.cfg.window.length, p_.cfg.training.stride);
    return nlohmann::json{{"model_labels", model_labels}, {"captured", by_label_json(st, false)}};
  });
}

void DaemonService::capture_stats(service::Done done) {
  // Restart-only keys: safe to read from the writer's thread.
  const auto window = p_.cfg.window.length, stride = p_.cfg.training.stride;
  const auto max_bytes = p_.cfg.capture.max_bytes, max_age_s = p_.cfg.capture.max_age_s;
  on_store(std::move(done), [=](capture::CaptureStore& s) {
    const auto st = s.stats(window, stride);
    return nlohmann::json{{"database", s.path().string()},   {"captures", st.captures},
                          {"samples", st.samples},           {"bytes", st.bytes},
                          {"windows", st.windows},           {"file_bytes", st.file_bytes},
                          {"max_bytes", max_bytes},          {"max_age_s", max_age_s},
                          {"evicted", s.counters().evicted}, {"by_label", by_label_json(st, true)}};
  });
}

void DaemonService::captures_list(service::CaptureSelector which, std::int64_t limit,
                                  service::Done done) {
  guarded(done, [&] {
    if (which.device) (void)device_index(*which.device);
    const int window = p_.cfg.window.length, stride = p_.cfg.training.stride;
    on_store(std::move(done), [which, limit, window, stride](capture::CaptureStore& s) {
      capture::CaptureFilter f;
      f.label = which.label;
      f.device = which.device;
      f.newest_first = true;
      f.limit = limit;
      nlohmann::json out = nlohmann::json::array();
      if (which.id) {  // the first capture from that id on, if it is that one
        f.min_id = which.id;
        f.newest_first = false;
        f.limit = 1;
        for (const auto& c : s.list(f))
          if (c.id == *which.id) out.push_back(capture_json(c, window, stride));
      } else {
        for (const auto& c : s.list(f)) out.push_back(capture_json(c, window, stride));
      }
      return nlohmann::json{{"captures", std::move(out)}};
    });
  });
}

void DaemonService::captures_delete(service::CaptureSelector which, service::Done done) {
  guarded(done, [&] {
    if (which.device) (void)device_index(*which.device);
    on_store(std::move(done), [which](capture::CaptureStore& s) {
      std::int64_t n = 0;
      if (which.id) {
        n = s.remove(*which.id) ? 1 : 0;
        if (n == 0)
          throw ServiceError(Errc::kNotFound, fmt::format("no capture with id {}", *which.id));
      } else {
        capture::CaptureFilter f;
        f.label = which.label;
        f.device = which.device;
        n = s.remove_matching(f);
      }
      spdlog::info("captures.delete: {} capture(s) deleted ({})", n,
                   which.id ? fmt::format("id {}", *which.id)
                            : fmt::format("label \"{}\"{}", *which.label,
                                          which.device ? " on " + *which.device : ""));
      return nlohmann::json{{"deleted", n}};
    });
  });
}

void DaemonService::finetune_run(std::optional<FinetuneMode> mode, bool wait, service::Done done) {
  guarded(done, [&] {
    need_training();
    auto q = p_.training->request_finetune(mode, [done, wait](const training::ServiceReply& s) {
      if (wait) done(from_training(s));
    });
    if (!q.ok() || !wait) done(from_training(q));
  });
}

void DaemonService::finetune_status(service::Done done) {
  guarded(done, [&] {
    need_training();
    done(Result::ok(p_.training->status()));
  });
}

void DaemonService::models_list(service::Done done) {
  guarded(done, [&] {
    need_training();
    done(Result::ok(p_.training->models()));
  });
}

void DaemonService::models_activate(std::int64_t version, bool force, service::Done done) {
  guarded(done, [&] {
    need_training();
    p_.training->request_activate(
        registry_version(version), force,
        [done](const training::ServiceReply& s) { done(from_training(s)); });
  });
}

void DaemonService::models_rollback(std::optional<std::int64_t> version, service::Done done) {
  guarded(done, [&] {
    need_training();
    std::optional<int> v;
    if (version) v = registry_version(*version);
    p_.training->request_rollback(
        v, [done](const training::ServiceReply& s) { done(from_training(s)); });
  });
}

}  // namespace primus::app
