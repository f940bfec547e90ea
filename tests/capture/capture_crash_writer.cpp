// capture_crash_writer DB FIRST_K [MAX_BYTES]
//
// Appends make_crash_record(FIRST_K), make_crash_record(FIRST_K + 1), ... through a
// CaptureWriter (up to 4 in flight) until killed, and writes "ack ID K\n" to stdout with one
// write(2) right after each acknowledgement, i.e. after the commit returned. MAX_BYTES > 0 sets
// the store's retention limit. Exit status 1 with a message on stderr for any failure.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "src/capture/capture_writer.h"
#include "tests/capture/crash_data.h"

int main(int argc, char** argv) {
  using namespace primus::capture;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DB FIRST_K [MAX_BYTES]\n", argv[0]);
    return 2;
  }
  try {
    // Declared before the writer: its destructor runs the queued callbacks, which use them.
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    bool failed = false;

    StoreOptions so;
    if (argc > 3) so.retention.max_bytes = std::stoll(argv[3]);
    WriterOptions wo;
    wo.max_jobs = 8;
    CaptureWriter writer(std::make_unique<CaptureStore>(argv[1], so), wo);
    for (std::uint64_t k = std::stoull(argv[2]);; ++k) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return in_flight < 4 || failed; });
        if (failed) return 1;
        ++in_flight;
      }
      const auto r = writer.submit(crash::make_crash_record(k), [&, k](const AppendOutcome& o) {
        if (o.ok()) {
          const std::string line = "ack " + std::to_string(o.id) + " " + std::to_string(k) + "\n";
          if (::write(STDOUT_FILENO, line.data(), line.size()) !=
              static_cast<ssize_t>(line.size())) {
            std::fprintf(stderr, "capture_crash_writer: short write to stdout\n");
          }
        } else {
          std::fprintf(stderr, "capture_crash_writer: append %llu: %s\n",
                       static_cast<unsigned long long>(k), o.error.c_str());
        }
        std::lock_guard lock(mu);
        --in_flight;
        failed = failed || !o.ok();
        cv.notify_all();
      });
      if (r != SubmitResult::kQueued) {
        std::fprintf(stderr, "capture_crash_writer: submit: %s\n", to_string(r));
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capture_crash_writer: %s\n", e.what());
    return 1;
  }
}
