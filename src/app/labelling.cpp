#include "src/app/labelling.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "src/capture/capture_record.h"
#include "src/capture/ring_capture.h"
#include "src/dataio/stream.h"
#include "src/training/dataset.h"

namespace primus::app {
namespace {

using service::Errc;
using service::Result;

/// A capture the writer could not store: a full disk is the environment (unavailable, the
/// writer warns at a limited rate and counts it), anything else a bug.
Result capture_failure(const capture::AppendOutcome& o) {
  if (o.storage_full())
    return Result::fail(Errc::kUnavailable,
                        "storage full: capture not stored (free space on the state directory's "
                        "file system or lower capture.max_bytes): " +
                            o.error);
  return Result::fail(Errc::kInternal, "capture not stored: " + o.error);
}

}  // namespace

nlohmann::json Labeller::open_label_json(std::size_t i) const {
  if (i >= active_.size() || !active_[i]) return nullptr;
  return {{"label", active_[i]->label}, {"since_host_ns", active_[i]->t_start_host_ns}};
}

void Labeller::start(std::size_t i, const std::string& label, service::Done done) {
  auto& d = p_.devices[i];
  if (!p_.capture_writer) return done(Result::fail(Errc::kUnavailable, p_.capture_disabled_why));
  if (active_[i])
    return done(Result::fail(Errc::kConflict, "device " + d.id + " is already labelling \"" +
                                                  active_[i]->label + "\"; label.stop first"));
  active_[i] = Open{label, p_.clock.now_ns()};
  spdlog::info("labelling {} on {} started", label, d.id);
  done(Result::ok(
      {{"device", d.id}, {"label", label}, {"t_start_host_ns", active_[i]->t_start_host_ns}}));
}

void Labeller::stop(std::size_t i, service::Done done) {
  if (!active_[i])
    return done(Result::fail(Errc::kConflict, "device " + p_.devices[i].id + " is not labelling"));
  auto open = std::move(*active_[i]);
  active_[i].reset();
  mark(i, open.label, open.t_start_host_ns, p_.clock.now_ns(), std::move(done));
}

void Labeller::mark(std::size_t i, const std::string& label, std::int64_t from_ns,
                    std::int64_t to_ns, service::Done done) {
  const auto& cfg = p_.cfg;
  if (!p_.capture_writer) return done(Result::fail(Errc::kUnavailable, p_.capture_disabled_why));
  const double span_s = static_cast<double>(to_ns - from_ns) / 1e9;
  if (!(span_s >= cfg.capture.min_label_s) || span_s > cfg.capture.max_label_s)
    return done(Result::fail(
        Errc::kInvalidParams,
        fmt::format("the labelled span is {:.2f} s; it must be between capture.min_label_s = {} s "
                    "and capture.max_label_s = {} s",
                    span_s, cfg.capture.min_label_s, cfg.capture.max_label_s)));
  const double window_s = cfg.window.length / cfg.window.rate_hz;
  const bool is_null = label == cfg.events.null_label;
  const auto pad_ns = static_cast<std::int64_t>(capture::context_seconds(is_null, window_s) * 1e9);
  Cut cut{
      i, label, from_ns, to_ns, from_ns - pad_ns, to_ns + pad_ns, to_ns + pad_ns + 2'000'000'000};
  try_cut(std::move(cut), std::move(done));
}

void Labeller::try_cut(Cut cut, service::Done done) {
  if (p_.stopping) return done(Result::fail(Errc::kUnavailable, "the daemon is stopping"));
  const auto& d = p_.devices[cut.device];
  auto span = capture::copy_ring_span(d.pipeline->ring(), cut.ctx_from_ns, cut.ctx_to_ns,
                                      p_.cfg.window.rate_hz);
  using St = capture::RingSpan::Status;
  if (span.status == St::kNotYet || span.status == St::kEmpty) {
    if (p_.clock.now_ns() > cut.give_up_ns) {
      // The context after the span never came (device stopped): keep what there is.
      if (cut.ctx_to_ns > cut.to_ns) {
        cut.ctx_to_ns = cut.to_ns;
        return try_cut(std::move(cut), std::move(done));
      }
      return done(Result::fail(Errc::kUnavailable, "device " + d.id +
                                                       " delivered no samples for the labelled "
                                                       "span (" +
                                                       span.why + ")"));
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(p_.io, std::chrono::milliseconds(100));
    timer->async_wait([this, timer, cut = std::move(cut),
                       done = std::move(done)](const boost::system::error_code& ec) mutable {
      if (ec) return done(Result::fail(Errc::kUnavailable, "the daemon is stopping"));
      try_cut(std::move(cut), std::move(done));
    });
    return;
  }
  if (span.status == St::kNotInHistory && cut.ctx_from_ns < cut.from_ns) {
    cut.ctx_from_ns = cut.from_ns;  // no context before: go without
    return try_cut(std::move(cut), std::move(done));
  }
  if (span.status != St::kOk)
    return done(Result::fail(Errc::kUnavailable, "device " + d.id + ": " + span.why));
  store(cut, span.frames, std::move(done));
}

void Labeller::store(const Cut& cut, const std::vector<signal::ModelFrame>& frames,
                     service::Done done) {
  const auto& cfg = p_.cfg;
  const auto& d = p_.devices[cut.device];
  std::int64_t first = -1, count = 0;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    const auto t = frames[k].t_host_ns;
    if (t >= cut.from_ns && t <= cut.to_ns) {
      if (first < 0) first = static_cast<std::int64_t>(k);
      ++count;
    }
  }
  if (first < 0)
    return done(Result::fail(Errc::kUnavailable, "no sample of " + d.id + " lies in the span"));
  const double rate = cfg.window.rate_hz;
  const auto conv =
      dataio::conversion_json(cfg, cfg.devices[cut.device], first, count, cut.from_ns, cut.to_ns);
  const double src_rate = d.pipeline->input_rate_hz() > 0 ? d.pipeline->input_rate_hz()
                                                          : cfg.devices[cut.device].rate_hz;
  capture::CaptureRecord rec;
  try {
    rec = capture::record_from_frames(frames, d.id, cut.label, rate, src_rate, conv.dump());
  } catch (const std::exception& e) {
    return done(Result::fail(Errc::kInternal, e.what()));
  }
  const auto n = rec.n_samples();
  const auto windows = static_cast<std::int64_t>(
      training::window_starts(n, {first, count}, cfg.window.length, cfg.training.stride).size());
  std::string why;
  const auto r = p_.capture_writer->submit(
      std::move(rec),
      [done, id = d.id, label = cut.label, n, count, from = cut.from_ns, to = cut.to_ns, rate,
       windows](const capture::AppendOutcome& o) {
        if (!o.ok()) return done(capture_failure(o));
        spdlog::info("captured {} on {}: {:.2f} s labelled (capture {}, {} samples with context)",
                     label, id, static_cast<double>(count) / rate, o.id, n);
        done(Result::ok({{"capture_id", o.id},
                         {"device", id},
                         {"label", label},
                         {"samples", count},
                         {"stored_samples", n},
                         {"windows", windows},
                         {"seconds", static_cast<double>(count) / rate},
                         {"t_start_host_ns", from},
                         {"t_end_host_ns", to}}));
      },
      &why);
  switch (r) {
    case capture::SubmitResult::kQueued:
      return;
    case capture::SubmitResult::kFull:
      return done(Result::fail(Errc::kBusy, "the capture store is busy (queue full); try again"));
    case capture::SubmitResult::kStopped:
      return done(Result::fail(Errc::kUnavailable, "the daemon is stopping"));
    case capture::SubmitResult::kInvalid:
      return done(Result::fail(Errc::kInvalidParams, why));
  }
}

}  // namespace primus::app
