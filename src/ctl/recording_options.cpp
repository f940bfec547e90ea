#include "src/ctl/recording_options.h"

#include "src/ctl/config_overrides.h"

#include <toml++/toml.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace primus::ctl {
namespace {

/// Keys of live links that a replayed recording does not use (and that validation would refuse
/// with adapter = "replay").
constexpr const char* kLinkKeys[] = {"codec",
                                     "device_id",
                                     "csv_columns",
                                     "csv_separator",
                                     "baud",
                                     "data_bits",
                                     "parity",
                                     "stop_bits",
                                     "flow_control",
                                     "reconnect_min_s",
                                     "reconnect_max_s",
                                     "idle_timeout_s",
                                     "udp_bind",
                                     "id_from",
                                     "udp_sender",
                                     "udp_rcvbuf_bytes",
                                     "ble_adapter",
                                     "ble_address",
                                     "ble_name",
                                     "ble_service_uuid",
                                     "ble_char_uuid",
                                     "ble_write_uuid",
                                     "ble_write_hex",
                                     "ble_connect_timeout_s",
                                     "speed",
                                     "loop",
                                     "seed",
                                     "gestures"};

}  // namespace

void RecordingOptions::add_to(CLI::App& cmd) {
  cmd.add_option("FILE", file, "the recording (csv, cmi, capture export csv, npz)")->required();
  cmd.add_option("-c,--config", config,
                 "daemon config: [window], [events], [capture] and the [[devices]] entry of "
                 "--device");
  cmd.add_option("-d,--device", device, "device id: its [[devices]] keys convert the recording")
      ->capture_default_str();
  cmd.add_option("--format", format, "csv | cmi | capture | npz (default: from the file name)")
      ->check(CLI::IsMember({"csv", "cmi", "capture", "npz"}));
  cmd.add_option("--set", set, "device key KEY=VALUE (TOML value), e.g. --set acc_unit=g")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--events", events, "[events] key KEY=VALUE, e.g. --events onset_threshold=0.7")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--label-column", label_column,
                 "column (npz: array) of labels (default: label; cmi: gesture)");
  cmd.add_option("--phase-column", phase_column,
                 "only rows whose phase (e.g. cmi's behavior) is a --phase-value keep their label");
  cmd.add_option("--phase-value", phase_values,
                 "phase that keeps the label (repeatable; default: \"Performs gesture\")")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--null-value", null_values,
                 "label text meaning null (repeatable; empty and events.null_label always are)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_flag("--skip-bad-rows", skip_bad_rows,
               "skip and count rows with a missing or non-numeric value instead of refusing the "
               "file");
}

ResolvedRecording resolve(const RecordingOptions& o) {
  std::filesystem::path base;
  toml::table root = read_config_table(o.config, base);
  toml::table entry;
  if (auto* devs = root["devices"].as_array()) {
    for (auto& d : *devs) {
      auto* t = d.as_table();
      if (t != nullptr && t->get("id") != nullptr && t->get("id")->value<std::string>() == o.device)
        entry = *t;
    }
  }
  for (const char* k : kLinkKeys) entry.erase(k);
  entry.insert_or_assign("id", o.device);
  entry.insert_or_assign("adapter", "replay");
  std::error_code ec;
  const auto abs = std::filesystem::absolute(o.file, ec);
  entry.insert_or_assign("path", ec ? o.file : abs.string());
  for (const auto& kv : o.set) apply_override(entry, kv, "--set");
  if (!o.events.empty()) {
    if (root["events"].as_table() == nullptr) root.insert_or_assign("events", toml::table{});
    for (const auto& kv : o.events) apply_override(*root["events"].as_table(), kv, "--events");
  }
  toml::array devices;
  devices.push_back(entry);
  root.insert_or_assign("devices", devices);
  std::ostringstream text;
  text << root;

  ResolvedRecording r;
  try {
    r.cfg = load_config_string(text.str(), base);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("the recording's keys: ") + e.what());
  }
  r.dev = r.cfg.devices.at(0);
  r.format =
      o.format.empty() ? dataio::guess_format(o.file) : dataio::parse_recording_format(o.format);
  r.labels.label_column = o.label_column;
  r.labels.phase_column = o.phase_column;
  r.labels.phase_values = o.phase_values;
  for (const auto& v : o.null_values) r.labels.null_values.push_back(v);
  r.labels.null_label = r.cfg.events.null_label;
  r.labels.strict = !o.skip_bad_rows;
  return r;
}

}  // namespace primus::ctl
