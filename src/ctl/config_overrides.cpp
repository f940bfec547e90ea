#include "src/ctl/config_overrides.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "src/config/config.h"

namespace primus::ctl {

toml::table read_config_table(const std::string& path, std::filesystem::path& base_dir) {
  base_dir.clear();
  if (path.empty()) return {};
  (void)load_config(path);  // refuses what is not a readable, valid regular config file
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  base_dir = std::filesystem::absolute(path, ec).parent_path();
  return toml::parse(ss.str());
}

void apply_override(toml::table& t, const std::string& kv, const char* flag) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::runtime_error(std::string(flag) + " " + kv + ": expected KEY=VALUE");
  const std::string key = kv.substr(0, eq);
  const std::string value = kv.substr(eq + 1);
  toml::table one;
  try {
    one = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    try {
      one = toml::parse("v = \"" + value + "\"");
    } catch (const toml::parse_error& e) {
      throw std::runtime_error(std::string(flag) + " " + kv + ": not a TOML value (" +
                               std::string(e.description()) + ")");
    }
  }
  t.insert_or_assign(key, *one.get("v"));
}

}  // namespace primus::ctl
