#include "src/ctl/endpoint.h"

#include <filesystem>

#include "src/bus/curve.h"

namespace primus::ctl {

std::string connectable(std::string ep) {
  for (const char* any : {"tcp://*:", "tcp://0.0.0.0:"}) {
    const std::string a = any;
    if (ep.rfind(a, 0) == 0) ep = "tcp://127.0.0.1:" + ep.substr(a.size());
  }
  return ep;
}

bool same_host(const std::string& ep) {
  return ep.rfind("ipc://", 0) == 0 || ep.rfind("tcp://127.", 0) == 0 ||
         ep.rfind("tcp://localhost:", 0) == 0 || ep.rfind("tcp://[::1]:", 0) == 0;
}

std::string curve_key_arg(const std::string& arg) {
  if (arg.size() == 40 && !std::filesystem::exists(arg)) return arg;
  return bus::read_curve_key_file(arg);
}

}  // namespace primus::ctl
