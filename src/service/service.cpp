#include "src/service/service.h"

#include <fmt/format.h>

namespace primus::service {
namespace {

constexpr std::size_t kMaxLabelBytes = 64;

/// Code points a label must not hold: controls, format and invisible characters, separators,
/// private use, surrogates and noncharacters (Unicode general categories Cc, Cf, Zl, Zp, Co, Cs
/// and the noncharacters), plus the space-like characters that render as nothing.
bool forbidden(char32_t c) {
  if (c < 0x20 || c == 0x7f) return true;                  // C0, DEL
  if (c >= 0x80 && c <= 0x9f) return true;                 // C1 (U+0085 NEL among them)
  if (c == 0xad || c == 0x34f || c == 0x61c) return true;  // soft hyphen, CGJ, Arabic mark
  if (c == 0x115f || c == 0x1160 || c == 0x17b4 || c == 0x17b5 || c == 0x180e) return true;
  if (c >= 0x200b && c <= 0x200f) return true;  // zero-width space/joiners, LRM, RLM
  if (c >= 0x2028 && c <= 0x202e) return true;  // line/paragraph separators, bidi embeddings
  if (c >= 0x2060 && c <= 0x206f) return true;  // word joiner, invisible operators, isolates
  if (c == 0x3164 || c == 0xfeff || c == 0xffa0) return true;  // fillers, BOM
  if (c >= 0xfe00 && c <= 0xfe0f) return true;                 // variation selectors
  if (c >= 0xfff0 && c <= 0xfffb) return true;                 // specials, annotation marks
  if (c >= 0xe000 && c <= 0xf8ff) return true;                 // private use
  if (c >= 0xfdd0 && c <= 0xfdef) return true;                 // noncharacters
  if ((c & 0xfffe) == 0xfffe) return true;                     // U+xFFFE, U+xFFFF
  if (c >= 0x1d173 && c <= 0x1d17a) return true;               // musical format controls
  if (c >= 0xe0000 && c <= 0xe0fff) return true;               // tags, variation selectors
  if (c >= 0xf0000) return true;                               // planes 15-16: private use
  return false;
}

[[noreturn]] void refuse(const std::string& why) {
  throw ServiceError(Errc::kInvalidParams, "\"label\" " + why);
}

}  // namespace

const char* to_string(Errc c) noexcept {
  switch (c) {
    case Errc::kInvalidParams:
      return "invalid_params";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kConflict:
      return "conflict";
    case Errc::kBusy:
      return "busy";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kTimeout:
      return "timeout";
    case Errc::kInternal:
      return "internal";
  }
  return "internal";
}

void check_label(const std::string& label) {
  if (label.empty() || label.size() > kMaxLabelBytes)
    refuse(fmt::format("must be 1..{} bytes (got {})", kMaxLabelBytes, label.size()));
  const auto* s = reinterpret_cast<const unsigned char*>(label.data());
  const std::size_t n = label.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char b = s[i];
    char32_t c = 0;
    std::size_t len = 0;
    if (b < 0x80) {
      c = b, len = 1;
    } else if ((b & 0xe0) == 0xc0) {
      c = b & 0x1f, len = 2;
    } else if ((b & 0xf0) == 0xe0) {
      c = b & 0x0f, len = 3;
    } else if ((b & 0xf8) == 0xf0) {
      c = b & 0x07, len = 4;
    } else {
      refuse(fmt::format("is not valid UTF-8 (byte 0x{:02x} at offset {})", b, i));
    }
    if (i + len > n) refuse(fmt::format("is not valid UTF-8 (truncated at offset {})", i));
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80)
        refuse(fmt::format("is not valid UTF-8 (byte 0x{:02x} at offset {})", s[i + k], i + k));
      c = (c << 6) | (s[i + k] & 0x3f);
    }
    const bool overlong =
        (len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000);
    if (overlong || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
      refuse(fmt::format("is not valid UTF-8 (bad sequence at offset {})", i));
    if (forbidden(c))
      refuse(
          fmt::format("must not contain control, format or invisible characters (U+{:04X} at "
                      "byte {})",
                      static_cast<std::uint32_t>(c), i));
    i += len;
  }
}

}  // namespace primus::service
