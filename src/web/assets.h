#pragma once
// The web console's files (web/ in the source tree), compiled into the binary by
// cmake/embed_assets.cmake: primusd serves them from memory, nothing is installed beside it and
// nothing is fetched from a CDN or the network.
#include <cstddef>
#include <string_view>
#include <vector>

namespace primus::web {

struct Asset {
  const char* path;  ///< "/index.html"
  const char* mime;  ///< Content-Type
  const unsigned char* data;
  std::size_t size;

  [[nodiscard]] std::string_view bytes() const {
    return {reinterpret_cast<const char*>(data), size};
  }
};

/// Every embedded file, in web/'s order.
[[nodiscard]] const std::vector<Asset>& embedded_assets();

}  // namespace primus::web
