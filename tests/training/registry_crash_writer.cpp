// registry_crash_writer DIR [FIRST_K]
//
// Writes "start\n" to stdout once LibTorch is up (about 0.7 s after exec), then opens
// ModelRegistry(DIR) and, for k = FIRST_K, FIRST_K + 1, ... (FIRST_K defaults to 1), adds
// Classifier::random(crash_model_info(), k, "cpu") as a new version with meta
// {"status":"accepted","k":k}, then writes "ack V K\n" to stdout with one write(2) after add()
// returned; after every second version it calls set_active(V) and writes "active V\n" once that
// returned. Runs until killed. Exit status 1 with a message on stderr for any failure.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "src/model/classifier.h"
#include "src/training/registry.h"
#include "tests/training/registry_crash_data.h"

namespace {

void say(const std::string& line) {
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    std::fprintf(stderr, "registry_crash_writer: short write to stdout\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace primus;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [FIRST_K]\n", argv[0]);
    return 2;
  }
  try {
    model::set_inference_threads(1);
    say("start\n");  // the test's timer kills count from here, not from exec
    training::ModelRegistry registry(argv[1]);
    const std::uint64_t first_k = argc > 2 ? std::stoull(argv[2]) : 1;
    for (std::uint64_t k = first_k;; ++k) {
      auto m = model::Classifier::random(training::crash::crash_model_info(), k, "cpu");
      const int v = registry.add(
          [&](const std::filesystem::path& p, int version) {
            m->set_version("v" + std::to_string(version));
            m->save(p.string());
          },
          nlohmann::json{{"status", "accepted"}, {"k", k}});
      say("ack " + std::to_string(v) + " " + std::to_string(k) + "\n");
      if ((k - first_k) % 2 == 1) {
        registry.set_active(v);
        say("active " + std::to_string(v) + "\n");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "registry_crash_writer: %s\n", e.what());
    return 1;
  }
}
