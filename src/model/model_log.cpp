#include "src/model/model_log.h"

#include <spdlog/spdlog.h>

namespace primus::model {

void log_model_info(const std::string& message) { spdlog::info("model: {}", message); }
void log_model_warning(const std::string& message) { spdlog::warn("model: {}", message); }

}  // namespace primus::model
