// Three stages: parse (types, unknown keys) -> defaults (the struct initialisers) -> validate.
// Every stage walks the key tables (config_keys.h): this file only reads the file, strings the
// sections together and answers the public functions of config.h.
#include "src/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "src/config/config_keys.h"

namespace primus {
namespace {

using namespace config_detail;

Config parse(const toml::table& root) {
  Config c;
  for_each_section([&](const auto& sec, auto member) {
    const toml::node* n = root.get(sec.name);
    if (!n) return;
    const std::string name(sec.name);
    if (!n->is_table()) fail(name, render(*n), "must be a table");
    parse_section(sec, *n->as_table(), name, c.*member);
  });
  if (const toml::node* n = root.get("devices")) {
    auto* arr = n->as_array();
    if (!arr) fail("devices", render(*n), "must be an array of tables ([[devices]])");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string path = "devices[" + std::to_string(i) + "]";
      auto* dt = arr->get(i)->as_table();
      if (!dt) fail(path, render(*arr->get(i)), "must be a table");
      DeviceConfig d;
      parse_section(device_section(), *dt, path, d);
      c.devices.push_back(std::move(d));
    }
  }
  for (const auto& [k, v] : root) {
    bool known = k.str() == "devices";
    for_each_section([&](const auto& sec, auto) { known = known || sec.name == k.str(); });
    if (!known) fail(std::string(k.str()), render(v), "unknown key");
  }
  return c;
}

void validate(Config& c, const std::filesystem::path& base) {
  for_each_section([&](const auto& sec, auto member) {
    validate_section(sec, c.*member, std::string(sec.name), base, c);
  });
  validate_devices(c, base);
}

const char* file_kind(std::filesystem::file_type t) {
  using std::filesystem::file_type;
  switch (t) {
    case file_type::directory:
      return "a directory";
    case file_type::fifo:
      return "a FIFO";
    case file_type::socket:
      return "a socket";
    case file_type::block:
      return "a block device";
    case file_type::character:
      return "a character device";
    default:
      return "something else";
  }
}

std::filesystem::file_type file_kind_of(mode_t m) {
  using std::filesystem::file_type;
  if (S_ISDIR(m)) return file_type::directory;
  if (S_ISFIFO(m)) return file_type::fifo;
  if (S_ISSOCK(m)) return file_type::socket;
  if (S_ISBLK(m)) return file_type::block;
  if (S_ISCHR(m)) return file_type::character;
  return file_type::unknown;
}

[[noreturn]] void not_regular(const std::string& name, std::filesystem::file_type t) {
  throw ConfigError(name + ": is " + file_kind(t) + ", not a regular file");
}

[[noreturn]] void too_large(const std::string& name, std::uintmax_t bytes) {
  throw ConfigError(name + ": is " + std::to_string(bytes) + " bytes; a config file may have " +
                    std::to_string(kMaxConfigFileBytes) + " (1 MiB) at most");
}

/// The whole file, which must be a regular file of at most kMaxConfigFileBytes. It is looked at
/// before it is opened, so that a FIFO or a device never blocks the loader, and again once open
/// (O_NONBLOCK, fstat), in case it was swapped in between.
std::string read_config_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto st = std::filesystem::status(file, ec);
  if (ec) throw ConfigError("cannot read config file " + name + ": " + ec.message());
  if (st.type() != std::filesystem::file_type::regular) not_regular(name, st.type());
  const auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxConfigFileBytes) too_large(name, size);

  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw ConfigError("cannot read config file " + name + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat sb {};
  if (::fstat(fd, &sb) != 0)
    throw ConfigError("cannot read config file " + name + ": " + std::strerror(errno));
  if (!S_ISREG(sb.st_mode)) not_regular(name, file_kind_of(sb.st_mode));

  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ConfigError("cannot read config file " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigFileBytes) too_large(name, text.size());
  }
  return text;
}

}  // namespace

std::optional<std::size_t> Config::device_index(const std::string& id) const {
  for (std::size_t i = 0; i < devices.size(); ++i)
    if (devices[i].id == id) return i;
  return std::nullopt;
}

Config load_config_string(const std::string& text, const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "TOML syntax error at line " << e.source().begin.line << ", column "
       << e.source().begin.column << ": " << e.description();
    throw ConfigError(os.str());
  }
  Config c = parse(root);
  validate(c, base_dir);
  return c;
}

Config load_config(const std::filesystem::path& file) {
  const std::string text = read_config_file(file);
  std::error_code ec;
  auto dir = std::filesystem::absolute(file, ec).parent_path();
  if (ec) dir = file.parent_path();
  try {
    Config c = load_config_string(text, dir);
    c.source = file;
    return c;
  } catch (const ConfigError& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
}

std::vector<std::string> diff_live(const Config& a, const Config& b,
                                   std::vector<std::string>& needs_restart) {
  std::vector<std::string> live;
  for_each_section([&](const auto& sec, auto member) {
    diff_section(sec, a.*member, b.*member, std::string(sec.name), live, needs_restart);
  });
  if (a.devices.size() != b.devices.size()) {
    needs_restart.push_back("devices");
  } else {
    for (std::size_t i = 0; i < a.devices.size(); ++i)
      diff_section(device_section(), a.devices[i], b.devices[i],
                   "devices[" + std::to_string(i) + "]", live, needs_restart);
  }
  return live;
}

std::vector<ConfigKeyInfo> config_key_list() {
  std::vector<ConfigKeyInfo> out;
  for_each_section([&](const auto& sec, auto member) {
    for (const auto& k : sec.keys)
      out.push_back({std::string(sec.name), std::string(sec.name) + "." + std::string(k.name),
                     k.reload == Reload::kLive,
                     [member, change = k.change](Config& c) { change(c.*member); }});
  });
  for (const auto& k : device_section().keys)
    out.push_back({"devices", "devices[]." + std::string(k.name), k.reload == Reload::kLive,
                   [change = k.change](Config& c) { change(c.devices.at(0)); }});
  return out;
}

std::vector<std::string> control_endpoints(const Config& c) {
  if (!c.control.listen.empty()) return c.control.listen;
  return {"ipc://" + (std::filesystem::path(c.daemon.runtime_dir) / "control.sock").string()};
}

std::filesystem::path capture_database(const Config& c) {
  if (!c.capture.database.empty()) return c.capture.database;
  return std::filesystem::path(c.daemon.state_dir) / "captures.db";
}

std::filesystem::path model_registry_dir(const Config& c) {
  if (!c.training.registry.empty()) return c.training.registry;
  return std::filesystem::path(c.daemon.state_dir) / "models";
}

// The names are string literals (config_enums.h), so data() is NUL-terminated.
const char* to_string(FinetuneMode m) noexcept { return enum_name(m).data(); }
const char* to_string(AdapterKind k) noexcept { return enum_name(k).data(); }
const char* to_string(CodecKind k) noexcept { return enum_name(k).data(); }

bool is_live(AdapterKind k) noexcept {
  return k == AdapterKind::kSerial || k == AdapterKind::kUdp || k == AdapterKind::kBle ||
         k == AdapterKind::kMqtt;
}

}  // namespace primus
