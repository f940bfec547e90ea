#include "src/dataio/importer.h"

#include <fmt/format.h>

#include <algorithm>

#include "src/capture/capture_store.h"
#include "src/training/dataset.h"

namespace primus::dataio {

ImportReport import_recording(const ImportOptions& opt) {
  ImportReport r;
  r.file = opt.dev.path;
  r.format = to_string(opt.format);
  r.device = opt.dev.id;
  r.dry_run = opt.dry_run;
  r.db = opt.db;
  std::vector<capture::CaptureRecord> records;
  try {
    const auto rec = read_labelled_recording(opt.dev, opt.format, opt.labels);
    r.rows = static_cast<std::int64_t>(rec.rec.samples.size());
    r.bad_rows = static_cast<std::int64_t>(rec.rec.bad_rows);
    const auto stream = run_signal_path(rec, opt.cfg.window);
    r.frames = static_cast<std::int64_t>(stream.frames.size());
    const auto segs = find_segments(stream);
    std::error_code ec;
    const auto abs = std::filesystem::absolute(opt.dev.path, ec);
    const nlohmann::json extra = {
        {"import", {{"file", ec ? opt.dev.path : abs.string()}, {"format", r.format}}}};
    records =
        captures_from_segments(stream, segs, opt.cfg, rec.dev, opt.include_null, extra, r.counts);
  } catch (const ImportError&) {
    throw;
  } catch (const std::exception& e) {
    throw ImportError(e.what());
  }
  for (const auto& c : records) {
    const auto span = training::labelled_span(c);
    ImportedCapture ic;
    ic.label = c.label;
    ic.samples = c.n_samples();
    ic.label_samples = span.count;
    ic.seconds = static_cast<double>(span.count) / opt.cfg.window.rate_hz;
    ic.windows = static_cast<std::int64_t>(
        training::window_starts(c.n_samples(), span, opt.cfg.window.length, opt.cfg.training.stride)
            .size());
    r.captures.push_back(ic);
  }
  if (records.empty())
    throw ImportError(
        opt.dev.path + ": no labelled segment to import (" + std::to_string(r.counts.too_short) +
        " shorter than capture.min_label_s = " + fmt::format("{}", opt.cfg.capture.min_label_s) +
        " s, " + std::to_string(r.counts.null_too_short) + " null segments shorter than a window)");
  if (opt.dry_run) return r;
  try {
    capture::StoreOptions so;
    so.retention = {opt.cfg.capture.max_bytes, opt.cfg.capture.max_age_s};
    capture::CaptureStore store(opt.db, so);
    const auto ids = store.append_all(records);
    for (std::size_t i = 0; i < ids.size(); ++i) r.captures[i].id = ids[i];
  } catch (const std::exception& e) {
    throw ImportError(opt.dev.path + ": nothing imported: " + e.what());
  }
  return r;
}

nlohmann::json to_json(const ImportReport& r) {
  nlohmann::json caps = nlohmann::json::array();
  for (const auto& c : r.captures)
    caps.push_back({{"capture_id", c.id},
                    {"label", c.label},
                    {"samples", c.samples},
                    {"label_samples", c.label_samples},
                    {"seconds", c.seconds},
                    {"windows", c.windows}});
  return {{"file", r.file},
          {"format", r.format},
          {"device", r.device},
          {"database", r.db.string()},
          {"dry_run", r.dry_run},
          {"rows", r.rows},
          {"bad_rows", r.bad_rows},
          {"frames", r.frames},
          {"segments", r.counts.segments},
          {"too_short", r.counts.too_short},
          {"null_too_short", r.counts.null_too_short},
          {"captures", caps}};
}

std::string to_text(const ImportReport& r) {
  struct Row {
    std::int64_t captures = 0, windows = 0;
    double seconds = 0;
  };
  std::map<std::string, Row> by;
  Row total;
  for (const auto& c : r.captures) {
    auto& b = by[c.label];
    ++b.captures, ++total.captures;
    b.windows += c.windows, total.windows += c.windows;
    b.seconds += c.seconds, total.seconds += c.seconds;
  }
  std::string out =
      fmt::format("{} {} ({}, {} rows{}) -> device {}\n", r.dry_run ? "would import" : "imported",
                  r.file, r.format, r.rows,
                  r.bad_rows ? fmt::format(", {} bad rows skipped", r.bad_rows) : "", r.device);
  out += fmt::format("{:<24} {:>8} {:>10} {:>8}\n", "label", "captures", "seconds", "windows");
  for (const auto& [label, b] : by)
    out += fmt::format("{:<24} {:>8} {:>10.1f} {:>8}\n", label, b.captures, b.seconds, b.windows);
  out += fmt::format("{:<24} {:>8} {:>10.1f} {:>8}\n", "total", total.captures, total.seconds,
                     total.windows);
  if (r.counts.too_short > 0)
    out += fmt::format("{} labelled segments shorter than capture.min_label_s were skipped\n",
                       r.counts.too_short);
  if (!r.dry_run && !r.captures.empty())
    out += fmt::format("capture ids {}..{} in {}\n", r.captures.front().id, r.captures.back().id,
                       r.db.string());
  return out;
}

}  // namespace primus::dataio
