// Forward throughput of the PRIMUS encoder + linear head (Classifier::predict), T = 250 (5 s at
// 50 Hz), random weights (speed does not depend on their values); windows/s is items_per_second.
//
//   bm_predict/path/batch/threads   one caller; path 0 = LibTorch modules, 1 = native
//                                   (src/model/fast_encoder.h); threads = intra-op threads
//   bm_instances/batch/threads:N    N callers sharing one native classifier, 1 intra-op thread
//                                   each: the daemon's model.instances = N (summed windows/s)
//
//   bench_model [--gemm=onednn|cblas|libtorch] [--benchmark_filter=...] [--benchmark_format=json]
// --gemm picks the native path's SGEMM (default: the first built, see src/model/sgemm.h).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "src/model/classifier.h"
#include "src/model/sgemm.h"

namespace {

constexpr int kLength = 250;

std::unique_ptr<primus::model::Classifier> make_model(primus::ModelBackend backend) {
  primus::model::ModelInfo info;
  info.labels = {"null", "wave", "circle", "shake", "tap"};
  auto clf = primus::model::Classifier::random(info, 1, "cpu");
  clf->set_backend(backend);
  clf->prepare();
  return clf;
}

std::vector<float> make_input(int batch) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(batch) * primus::model::kChannels * kLength);
  for (auto& v : x) v = normal(rng);
  return x;
}

void bm_predict(benchmark::State& state) {
  const bool native = state.range(0) == 1;
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  primus::model::set_inference_threads(threads);
  auto clf = make_model(native ? primus::ModelBackend::kNative : primus::ModelBackend::kLibTorch);
  const auto x = make_input(batch);
  std::vector<float> probs(static_cast<std::size_t>(batch) * clf->num_classes());
  clf->predict(x.data(), batch, kLength, probs.data());  // warm-up (allocator, OpenMP pool)
  for (auto _ : state) {
    clf->predict(x.data(), batch, kLength, probs.data());
    benchmark::DoNotOptimize(probs.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(clf->path_name());
}

// One classifier shared by the benchmark's threads, as the engine's instances share it.
const primus::model::Classifier& shared_model() {
  static std::once_flag once;
  static std::unique_ptr<primus::model::Classifier> clf;
  std::call_once(once, [] { clf = make_model(primus::ModelBackend::kNative); });
  return *clf;
}

void bm_instances(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  primus::model::set_inference_threads(1);
  const auto& clf = shared_model();
  const auto x = make_input(batch);
  std::vector<float> probs(static_cast<std::size_t>(batch) * clf.num_classes());
  primus::model::Classifier::Workspace ws;
  clf.predict(x.data(), batch, kLength, probs.data(), ws);
  for (auto _ : state) {
    clf.predict(x.data(), batch, kLength, probs.data(), ws);
    benchmark::DoNotOptimize(probs.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(clf.path_name());
}

BENCHMARK(bm_predict)
    ->ArgNames({"native", "batch", "threads"})
    ->ArgsProduct({{0, 1}, {1, 8, 32, 64, 128, 256}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

BENCHMARK(bm_instances)
    ->ArgNames({"batch"})
    ->Args({128})
    ->Args({256})
    ->Threads(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--gemm=", 7) == 0) {
      primus::model::set_gemm_backend(argv[i] + 7);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::AddCustomContext("gemm", primus::model::gemm_backend());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
