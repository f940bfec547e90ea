// model_log.h for the stand-alone LibTorch build (no spdlog): one line per message on stderr.
#include <iostream>

#include "src/model/model_log.h"

namespace primus::model {

void log_model_info(const std::string& message) { std::cerr << "model: " << message << '\n'; }
void log_model_warning(const std::string& message) {
  std::cerr << "model: warning: " << message << '\n';
}

}  // namespace primus::model
