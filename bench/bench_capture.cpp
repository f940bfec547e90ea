// Capture store write throughput: 5 s captures at 50 Hz (250 samples x 6 float32 = 6,000 bytes)
// appended one transaction each, as the daemon does, with the durability setting chosen for
// production (synchronous=FULL: one WAL fsync per capture) and, for comparison, NORMAL (no fsync:
// survives kill -9 but not power loss). Also through the CaptureWriter queue and thread.
//
// The database lives in $PRIMUS_BENCH_DIR (default: the current directory), so the fsync cost
// is that of the disk the daemon would use; do not point it at a tmpfs.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "src/capture/capture_writer.h"

namespace {

using namespace primus::capture;

constexpr std::int64_t kSamples = 250;  // 5 s at 50 Hz
constexpr std::int64_t kBytes = kSamples * 6 * 4;

CaptureRecord five_second_capture(int k) {
  CaptureRecord r;
  r.device = "wrist1";
  r.label = "gesture" + std::to_string(k % 5);
  r.rate_hz = 50.0;
  r.source_rate_hz = 100.0;
  r.t_start_host_ns = 1'000'000'000LL * k;
  r.t_end_host_ns = r.t_start_host_ns + (kSamples - 1) * 20'000'000;
  r.t_end_device_us = (kSamples - 1) * 20'000;
  r.conversion = R"({"acc_unit":"g","gyro_unit":"deg/s"})";
  r.data.resize(6 * kSamples);
  for (std::size_t i = 0; i < r.data.size(); ++i) r.data[i] = static_cast<float>(i % 97) * 0.1f;
  return r;
}

/// A fresh database file in the bench directory, removed with its WAL afterwards.
struct BenchDb {
  std::filesystem::path path;
  BenchDb() {
    const char* d = std::getenv("PRIMUS_BENCH_DIR");
    path = std::filesystem::path(d != nullptr ? d : ".") / "bench_capture.db";
    remove();
  }
  ~BenchDb() { remove(); }
  void remove() const {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(path.string() + suffix, ec);
    }
  }
};

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());  // captures/s
  state.SetBytesProcessed(state.iterations() * kBytes);
  state.counters["capture_bytes"] = static_cast<double>(kBytes);
}

void BM_append(benchmark::State& state) {
  BenchDb db;
  StoreOptions so;
  so.synchronous = state.range(0) == 0 ? Synchronous::kFull : Synchronous::kNormal;
  CaptureStore store(db.path, so);
  const CaptureRecord r = five_second_capture(1);
  for (auto _ : state) benchmark::DoNotOptimize(store.append(r));
  report(state);
}
BENCHMARK(BM_append)->Arg(0)->Arg(1)->ArgName("normal")->UseRealTime()->MinTime(2.0);

// With a retention limit that keeps 200 captures: every append also evicts the oldest.
void BM_append_with_eviction(benchmark::State& state) {
  BenchDb db;
  StoreOptions so;
  so.retention.max_bytes = 200 * kBytes;
  CaptureStore store(db.path, so);
  const CaptureRecord r = five_second_capture(1);
  for (int i = 0; i < 200; ++i) store.append(r);  // fill to the limit first (not timed)
  for (auto _ : state) benchmark::DoNotOptimize(store.append(r));
  report(state);
}
BENCHMARK(BM_append_with_eviction)->UseRealTime()->MinTime(2.0);

// Batches of 32 captures submitted from this thread, acknowledged by the writer thread
// (synchronous=FULL); an iteration ends when the last ack of its batch has arrived.
void BM_writer_submit_to_ack(benchmark::State& state) {
  constexpr int kBatch = 32;
  BenchDb db;
  WriterOptions wo;
  wo.max_jobs = kBatch;
  CaptureWriter writer(std::make_unique<CaptureStore>(db.path), wo);
  const CaptureRecord r = five_second_capture(1);
  std::mutex mu;
  std::condition_variable cv;
  int acked = 0;
  for (auto _ : state) {
    {
      std::lock_guard lock(mu);
      acked = 0;
    }
    for (int i = 0; i < kBatch; ++i) {
      const SubmitResult res = writer.submit(r, [&](const AppendOutcome&) {
        std::lock_guard lock(mu);
        ++acked;
        cv.notify_all();
      });
      if (res != SubmitResult::kQueued) state.SkipWithError(to_string(res));
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return acked == kBatch; });
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch * kBytes);
}
BENCHMARK(BM_writer_submit_to_ack)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
