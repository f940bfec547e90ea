#include "src/core/version.h"

namespace primus {
std::string_view version() noexcept { return PRIMUS_VERSION; }
}  // namespace primus
