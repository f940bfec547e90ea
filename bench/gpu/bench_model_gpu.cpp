// Forward latency and windows/s of Classifier::predict (PRIMUS encoder + linear head, random
// weights, T = 250, InferenceMode) per batch size, on any device, needing only LibTorch.
// Each timed call includes the host->device copy of the input and the copy of the scores back,
// which also synchronises CUDA, so the figures are what the inference thread sees.
//
//   bench_model_gpu [--device auto|cpu|cuda|cuda:N] [--threads N] [--seconds S]
// Prints one Markdown table row per batch size: device, batch, threads, median ms, windows/s.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "src/model/classifier.h"

int main(int argc, char** argv) {
  using namespace primus::model;
  std::string device = "auto";
  int threads = 1;
  double seconds = 2.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--device")) {
      device = argv[i + 1];
    } else if (!std::strcmp(argv[i], "--threads")) {
      threads = std::atoi(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--seconds")) {
      seconds = std::atof(argv[i + 1]);
    } else {
      std::cerr << "usage: bench_model_gpu [--device D] [--threads N] [--seconds S]\n";
      return 2;
    }
  }
  try {
    set_inference_threads(threads);
    ModelInfo info;
    info.labels = {"null", "wave", "circle", "shake", "tap"};
    auto clf = Classifier::random(info, 1, device);
    constexpr int kLength = 250;
    std::cout << "| device | batch | threads | median ms | windows/s |\n|---|---|---|---|---|\n";
    for (int batch : {1, 8, 32, 64, 128}) {
      std::mt19937 rng(7);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      std::vector<float> x(static_cast<std::size_t>(batch) * kChannels * kLength);
      for (auto& v : x) v = normal(rng);
      std::vector<float> probs(static_cast<std::size_t>(batch) * clf->num_classes());
      for (int w = 0; w < 5; ++w) clf->predict(x.data(), batch, kLength, probs.data());
      std::vector<double> ms;
      const auto start = std::chrono::steady_clock::now();
      while (ms.size() < 5 ||
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
                 seconds) {
        const auto t0 = std::chrono::steady_clock::now();
        clf->predict(x.data(), batch, kLength, probs.data());
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      std::sort(ms.begin(), ms.end());
      const double median = ms[ms.size() / 2];
      std::cout << "| " << clf->device_name() << " | " << batch << " | " << threads << " | "
                << median << " | " << static_cast<long>(batch * 1000.0 / median) << " |\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_model_gpu: " << e.what() << '\n';
    return 1;
  }
}
