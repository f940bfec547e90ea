#include "adapters/codecs/codec.h"

namespace primus::adapters::codecs {

const char* to_string(DropReason r) noexcept {
  switch (r) {
    case DropReason::kGarbage:
      return "garbage";
    case DropReason::kTruncated:
      return "truncated";
    case DropReason::kBadLength:
      return "bad_length";
    case DropReason::kBadChecksum:
      return "bad_checksum";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadValue:
      return "bad_value";
    case DropReason::kUnknownDevice:
      return "unknown_device";
  }
  return "?";
}

}  // namespace primus::adapters::codecs
