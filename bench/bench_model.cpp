// Forward latency and throughput of the PRIMUS encoder + linear head on the configured CPU
// threads, under InferenceMode (Classifier::predict), T = 250 (5 s at 50 Hz). Random weights:
// speed does not depend on their values. windows/s is reported as items_per_second.
//
//   bench_model [--benchmark_filter=...] [--benchmark_repetitions=N]
// Arguments of each case: batch, threads.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "src/model/classifier.h"

namespace {

constexpr int kLength = 250;

void bm_predict(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  primus::model::set_inference_threads(threads);
  primus::model::ModelInfo info;
  info.labels = {"null", "wave", "circle", "shake", "tap"};
  auto clf = primus::model::Classifier::random(info, 1, "cpu");

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(batch) * primus::model::kChannels * kLength);
  for (auto& v : x) v = normal(rng);
  std::vector<float> probs(static_cast<std::size_t>(batch) * clf->num_classes());

  clf->predict(x.data(), batch, kLength, probs.data());  // warm-up (allocator, OpenMP pool)
  for (auto _ : state) {
    clf->predict(x.data(), batch, kLength, probs.data());
    benchmark::DoNotOptimize(probs.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["batch"] = batch;
  state.counters["threads"] = threads;
}

BENCHMARK(bm_predict)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{1, 8, 32, 64, 128}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
