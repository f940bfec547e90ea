#pragma once
// Small measurement primitives shared by the parts that report to `status` and `/metrics`.
//
// Histogram: fixed upper bounds (Prometheus "le" buckets), lock-free observe() from one or many
// threads, snapshot() from any thread. RecentPercentiles: the values of the last `horizon` of
// host time (e.g. one minute), for p50/p99/max; guarded by a mutex (observe is cheap: a push).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace primus {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds_(std::move(upper_bounds)),
        counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
  }
  void observe(double v) noexcept {
    const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                            bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    // sum kept in micro-units to stay an integer atomic
    sum_micro_.fetch_add(static_cast<std::int64_t>(v * 1e6), std::memory_order_relaxed);
  }
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf last
    std::uint64_t count = 0;
    double sum = 0;
  };
  [[nodiscard]] Snapshot snapshot() const {
    Snapshot s;
    s.bounds = bounds_;
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      acc += counts_[i].load(std::memory_order_relaxed);
      s.cumulative.push_back(acc);
    }
    s.count = acc;
    s.sum = static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) * 1e-6;
    return s;
  }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::int64_t> sum_micro_{0};
};

class RecentPercentiles {
 public:
  explicit RecentPercentiles(std::int64_t horizon_ns, std::size_t max_samples = 200000)
      : horizon_ns_(horizon_ns), max_samples_(max_samples) {}
  void observe(std::int64_t t_ns, double v) {
    std::lock_guard lk(mu_);
    samples_.emplace_back(t_ns, v);
    if (samples_.size() > max_samples_) samples_.pop_front();
  }
  struct Summary {
    std::size_t n = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
  };
  /// Values observed within the horizon before `now_ns`.
  [[nodiscard]] Summary summary(std::int64_t now_ns) {
    std::vector<double> v;
    {
      std::lock_guard lk(mu_);
      while (!samples_.empty() && samples_.front().first < now_ns - horizon_ns_)
        samples_.pop_front();
      v.reserve(samples_.size());
      for (const auto& s : samples_) v.push_back(s.second);
    }
    Summary s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto at = [&](double p) {
      return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
    };
    s.p50 = at(0.50);
    s.p90 = at(0.90);
    s.p99 = at(0.99);
    s.max = v.back();
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / static_cast<double>(v.size());
    return s;
  }

 private:
  std::int64_t horizon_ns_;
  std::size_t max_samples_;
  std::mutex mu_;
  std::deque<std::pair<std::int64_t, double>> samples_;
};

}  // namespace primus
