#pragma once
#include <string_view>

namespace primus {
/// The project version ("0.1.0"), as configured by CMake.
std::string_view version() noexcept;
}  // namespace primus
