#pragma once
// Counts heap allocations made by this thread inside a scope, to check "no allocation per sample".
#include <cstddef>

namespace primus::test {

/// Allocations (operator new calls) made by the calling thread so far.
std::size_t thread_allocations() noexcept;

class AllocationScope {
 public:
  AllocationScope() noexcept : start_(thread_allocations()) {}
  [[nodiscard]] std::size_t count() const noexcept { return thread_allocations() - start_; }

 private:
  std::size_t start_;
};

}  // namespace primus::test
