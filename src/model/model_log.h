#pragma once
// The model part's only logging hook, so that src/model compiles against LibTorch alone
// (bench/gpu links model_log_stderr.cpp instead of the spdlog-backed model_log.cpp).
// Thread-safe (spdlog's default logger / std::cerr).
#include <string>

namespace primus::model {

void log_model_info(const std::string& message);
void log_model_warning(const std::string& message);

}  // namespace primus::model
