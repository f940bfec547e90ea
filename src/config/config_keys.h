#pragma once
// The loader's machinery: each section of the configuration is one table of key descriptors
// (config_sections.cpp, config_devices.cpp). A Key names one TOML key and the struct field it
// fills, and that one entry drives everything the loader does with the key:
//   parse     TOML -> field with the type check ("must be an integer"); keys missing from the
//             table are unknown keys, an error;
//   validate  the key's check, in table order, its errors naming the full key path
//             ("devices[1].baud = 0: must be > 0");
//   diff      diff_live(): a live key that changed gives "path: old -> new", a restart-only key
//             that changed names its section (Section::restart_by_key: the key itself);
//   list      config_key_list(), which the tests walk to prove every key is diffed.
// Adding a key: the struct field (config.h) and one line in its section's table.
//
// Private to src/config (it includes toml++). Tables are built once, on first use
// (thread-safe static initialisation), and read-only afterwards.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "src/config/config.h"
#include "src/config/config_enums.h"

namespace primus::config_detail {

// ---- messages -----------------------------------------------------------------------------------

/// Throws ConfigError "path = value: why".
[[noreturn]] void fail(const std::string& path, const std::string& value, const std::string& why);
std::string quote(const std::string& s);
/// A TOML value as written in an error: strings quoted, tables {...}, arrays [...].
std::string render(const toml::node& n);
/// Shortest form of a number, as the messages and diff lines print it ("0.6", "120", "1e-05").
std::string num(double v);

// ---- what a check sees --------------------------------------------------------------------------

/// The key being checked: its full path, the directory relative paths resolve against, and the
/// whole configuration (read-only; sections earlier in the file are already validated).
class Ctx {
 public:
  Ctx(std::string path, const std::filesystem::path& base, const Config& config)
      : path_(std::move(path)), base_(base), config_(config) {}

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  /// Path of element i of an array key: "path[i]".
  [[nodiscard]] std::string elem(std::size_t i) const;

  /// Throws ConfigError "path = value: why".
  [[noreturn]] void fail(const std::string& value, const std::string& why) const;
  /// "must be >= lo" unless v >= lo.
  void at_least(std::int64_t v, std::int64_t lo) const;
  /// "must be in lo..hi" unless lo <= v <= hi.
  void in_range(std::int64_t v, std::int64_t lo, std::int64_t hi) const;
  /// Makes a relative path absolute against the config file's directory (empty stays empty).
  void resolve(std::string& p) const;
  /// Fails unless `p` names an existing file: "file does not exist", or the filesystem's own
  /// reason ("Too many levels of symbolic links", "Permission denied").
  void require_file(const std::string& p) const;

 private:
  std::string path_;
  const std::filesystem::path& base_;
  const Config& config_;
};

// ---- field types --------------------------------------------------------------------------------
// For each field type T: read_value (TOML -> T with the type error), show_value (as a diff line
// prints it) and change_value (some other value, for the tests).

void read_value(const toml::node& n, const std::string& path, std::string& out);
void read_value(const toml::node& n, const std::string& path, bool& out);
void read_value(const toml::node& n, const std::string& path, int& out);
void read_value(const toml::node& n, const std::string& path, std::int64_t& out);
void read_value(const toml::node& n, const std::string& path, std::uint64_t& out);
void read_value(const toml::node& n, const std::string& path, double& out);
void read_value(const toml::node& n, const std::string& path, std::vector<std::string>& out);
/// ["x", "-z", "y"]: three distinct axes, each with an optional sign.
void read_value(const toml::node& n, const std::string& path, AxisMap& out);

std::string show_value(const std::string& v);  // quoted
std::string show_value(bool v);
std::string show_value(double v);  // every number, integers included, as num() prints it
std::string show_value(const std::vector<std::string>& v);
std::string show_value(const AxisMap& v);

void change_value(std::string& v);
void change_value(bool& v);
void change_value(int& v);
void change_value(std::int64_t& v);
void change_value(std::uint64_t& v);
void change_value(double& v);
void change_value(std::vector<std::string>& v);
void change_value(AxisMap& v);

template <NamedEnum E>
void read_value(const toml::node& n, const std::string& path, E& out) {
  if (!n.is_string()) fail(path, render(n), "must be one of " + enum_name_list<E>());
  const auto s = *n.value<std::string>();
  const auto v = enum_from_name<E>(s);
  if (!v) fail(path, quote(s), "must be one of " + enum_name_list<E>());
  out = *v;
}
template <NamedEnum E>
std::string show_value(E v) {
  return std::string(enum_name(v));
}
template <NamedEnum E>
void change_value(E& v) {
  const auto& names = EnumNames<E>::kNames;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i].first == v) {
      v = names[(i + 1) % names.size()].first;
      return;
    }
}

// ---- keys and sections --------------------------------------------------------------------------

enum class Reload { kRestart, kLive };
inline constexpr Reload kLive = Reload::kLive;

/// One key of section struct S, type-erased so that a table can hold keys of every type.
template <typename S>
struct Key {
  std::string_view name;
  Reload reload = Reload::kRestart;
  std::string missing;  ///< non-empty: the key is required; the reason its absence gives
  std::function<void(const toml::node&, const std::string& path, S&)> parse;
  std::function<bool(const S&, const S&)> same;
  std::function<std::string(const S&)> show;
  std::function<void(S&)> change;
  std::function<void(S&, const Ctx&)> validate;  ///< may normalise the value; empty: none
};

/// A Key under construction, still knowing its field's type T (see key()).
template <typename S, typename T>
class KeyDef : public Key<S> {
 public:
  KeyDef(std::string_view name, T S::*field, Reload reload) : field_(field) {
    this->name = name;
    this->reload = reload;
    this->parse = [field](const toml::node& n, const std::string& path, S& s) {
      read_value(n, path, s.*field);
    };
    this->same = [field](const S& a, const S& b) { return a.*field == b.*field; };
    this->show = [field](const S& s) {
      if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
        return show_value(static_cast<double>(s.*field));
      else
        return show_value(s.*field);
    };
    this->change = [field](S& s) { change_value(s.*field); };
  }

  /// Adds a check, run after the earlier ones: f(T& value, const Ctx&), or
  /// f(T& value, S& section, const Ctx&) when it needs the sibling keys.
  template <typename F>
  KeyDef check(F f) && {
    auto field = field_;
    std::function<void(S&, const Ctx&)> next;
    if constexpr (std::is_invocable_v<F&, T&, const Ctx&>)
      next = [field, f](S& s, const Ctx& c) { f(s.*field, c); };
    else
      next = [field, f](S& s, const Ctx& c) { f(s.*field, s, c); };
    if (auto before = std::move(this->validate))
      this->validate = [before, next](S& s, const Ctx& c) {
        before(s, c);
        next(s, c);
      };
    else
      this->validate = std::move(next);
    return std::move(*this);
  }

  /// The key must be given: "path = (missing): why".
  KeyDef required(std::string why) && {
    this->missing = std::move(why);
    return std::move(*this);
  }

  /// A string that must be one of `names` ("must be one of a, b, c"); diff lines print it bare.
  KeyDef one_of(std::vector<std::string> names) && {
    static_assert(std::is_same_v<T, std::string>);
    this->show = [field = field_](const S& s) { return s.*field; };
    return std::move(*this).check([names](std::string& v, const Ctx& c) {
      for (const auto& n : names)
        if (v == n) return;
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      c.fail(quote(v), "must be one of " + list);
    });
  }

 private:
  T S::*field_;
};

/// The table entry for field `field` of S under TOML key `name`.
template <typename S, typename T>
KeyDef<S, T> key(std::string_view name, T S::*field, Reload reload = Reload::kRestart) {
  return KeyDef<S, T>(name, field, reload);
}

/// One section: its TOML name and its key table.
template <typename S>
struct Section {
  std::string_view name;  ///< "events"; "devices" for the [[devices]] array
  std::vector<Key<S>> keys;
  /// needs_restart names each changed restart-only key ("events.null_label") instead of the
  /// section ("window").
  bool restart_by_key = false;
  /// Defaults that depend on other keys, applied after parsing (given: the TOML table).
  std::function<void(S&, const toml::table&)> after_parse{};
};

/// TOML table -> S: each key of the table in order (type errors, missing required keys), then
/// after_parse, then every key the table does not know is an error ("path.k = v: unknown key").
template <typename S>
void parse_section(const Section<S>& sec, const toml::table& t, const std::string& path, S& out) {
  for (const auto& k : sec.keys) {
    const std::string kp = path + "." + std::string(k.name);
    if (const toml::node* n = t.get(k.name)) {
      k.parse(*n, kp, out);
    } else if (!k.missing.empty()) {
      fail(kp, "(missing)", k.missing);
    }
  }
  if (sec.after_parse) sec.after_parse(out, t);
  for (const auto& [name, value] : t) {
    bool known = false;
    for (const auto& k : sec.keys) known = known || k.name == name.str();
    if (!known) fail(path + "." + std::string(name.str()), render(value), "unknown key");
  }
}

/// Runs every key's check, in table order.
template <typename S>
void validate_section(const Section<S>& sec, S& s, const std::string& path,
                      const std::filesystem::path& base, const Config& config) {
  for (const auto& k : sec.keys)
    if (k.validate) k.validate(s, Ctx(path + "." + std::string(k.name), base, config));
}

/// Appends a line per changed live key to `live`, and to `restart` the section's path (or each
/// changed key's path, restart_by_key) when a restart-only key changed.
template <typename S>
void diff_section(const Section<S>& sec, const S& a, const S& b, const std::string& path,
                  std::vector<std::string>& live, std::vector<std::string>& restart) {
  if (a == b) return;
  bool restart_section = false;
  for (const auto& k : sec.keys) {
    if (k.same(a, b)) continue;
    const std::string kp = path + "." + std::string(k.name);
    if (k.reload == Reload::kLive)
      live.push_back(kp + ": " + k.show(a) + " -> " + k.show(b));
    else if (sec.restart_by_key)
      restart.push_back(kp);
    else
      restart_section = true;
  }
  if (restart_section) restart.push_back(path);
}

// ---- the tables ---------------------------------------------------------------------------------

const Section<DaemonConfig>& daemon_section();
const Section<ModelConfig>& model_section();
const Section<WindowConfig>& window_section();
const Section<BatcherConfig>& batcher_section();
const Section<EventsConfig>& events_section();
const Section<BusConfig>& bus_section();
const Section<MetricsConfig>& metrics_section();
const Section<ControlConfig>& control_section();
const Section<CaptureConfig>& capture_section();
const Section<TrainingConfig>& training_section();
const Section<MqttConfig>& mqtt_section();
const Section<WebConfig>& web_section();
/// The keys of one [[devices]] entry.
const Section<DeviceConfig>& device_section();

/// Calls f(section, &Config::member) for each table section, in file order. The one list of
/// sections: parse, validate, diff and config_key_list() all walk it.
template <typename F>
void for_each_section(F&& f) {
  f(daemon_section(), &Config::daemon);
  f(model_section(), &Config::model);
  f(window_section(), &Config::window);
  f(batcher_section(), &Config::batcher);
  f(events_section(), &Config::events);
  f(bus_section(), &Config::bus);
  f(metrics_section(), &Config::metrics);
  f(control_section(), &Config::control);
  f(capture_section(), &Config::capture);
  f(training_section(), &Config::training);
  f(mqtt_section(), &Config::mqtt);
  f(web_section(), &Config::web);
}

/// devices[]: each entry's key checks, then the rules between entries (unique ids, devices
/// sharing one UDP socket). Throws ConfigError.
void validate_devices(Config& c, const std::filesystem::path& base);

}  // namespace primus::config_detail
