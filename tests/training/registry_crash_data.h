#pragma once
// What the registry crash writer stores, derived from a number k alone, so the test can rebuild
// the exact classifier an acknowledgement names and compare its outputs bit for bit.
#include "src/model/classifier.h"

namespace primus::training::crash {

inline model::ModelInfo crash_model_info() {
  model::ModelInfo info;
  info.labels = {"null", "a", "b"};
  info.window_length = 123;
  info.rate_hz = 50.0;
  return info;
}

}  // namespace primus::training::crash
