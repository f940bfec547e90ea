#include "src/model/device_spec.h"

#include <stdexcept>

namespace primus::model {

DeviceSpec parse_device_spec(const std::string& s) {
  if (s == "auto") return {DeviceSpec::Kind::kAuto, 0};
  if (s == "cpu") return {DeviceSpec::Kind::kCpu, 0};
  if (s == "cuda") return {DeviceSpec::Kind::kCuda, 0};
  const std::string prefix = "cuda:";
  if (s.size() > prefix.size() && s.size() <= prefix.size() + 3 && s.starts_with(prefix)) {
    int index = 0;
    for (std::size_t i = prefix.size(); i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') {
        index = -1;
        break;
      }
      index = index * 10 + (s[i] - '0');
    }
    if (index >= 0) return {DeviceSpec::Kind::kCuda, index};
  }
  throw std::invalid_argument("device '" + s + "': expected auto, cpu, cuda or cuda:N");
}

}  // namespace primus::model
