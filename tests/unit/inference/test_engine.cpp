// The inference engine with real (random-weight) PRIMUS models: batching, scoring, model swap;
// scores go through the events stage, as in the daemon.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "src/events/events_stage.h"
#include "src/inference/engine.h"
#include "src/model/classifier.h"
#include "src/model/sgemm.h"

namespace primus::inference {
namespace {

Config small_config() {
  Config c;
  c.window.length = 123;
  c.batcher.max_batch = 8;
  c.batcher.max_delay_us = 2000;
  c.batcher.queue = 100000;
  c.events.publish_scores = true;
  c.model.device = "cpu";
  c.model.labels = {"null", "a", "b"};
  for (const char* id : {"d0", "d1"}) {
    DeviceConfig d;
    d.id = id;
    c.devices.push_back(d);
  }
  return c;
}

std::unique_ptr<model::Classifier> random_model(const Config& c, const std::string& version,
                                                std::vector<std::string> labels,
                                                std::uint64_t seed) {
  model::ModelInfo info;
  info.labels = std::move(labels);
  info.window_length = c.window.length;
  info.version = version;
  return model::Classifier::random(info, seed, "cpu");
}

Window make_window(std::uint32_t dev, std::uint64_t seq, int length) {
  Window w;
  w.device = dev;
  w.seq = seq;
  w.length = length;
  w.data.assign(static_cast<std::size_t>(kChannels) * length, 0.0f);
  for (int i = 0; i < length; ++i)
    w.data[2 * length + i] = 9.8f + 0.01f * static_cast<float>((seq + i) % 7);
  w.t_ready_ns = SteadyTimeSource::instance().now_ns();
  return w;
}

std::vector<std::string> device_ids(const Config& c) {
  std::vector<std::string> ids;
  for (const auto& d : c.devices) ids.push_back(d.id);
  return ids;
}

struct Collector {
  std::mutex mu;
  std::map<std::string, std::vector<nlohmann::json>> by_topic_prefix;
  void operator()(const std::string& topic, const std::string& json) {
    std::lock_guard lk(mu);
    by_topic_prefix[topic.substr(0, topic.find('.'))].push_back(nlohmann::json::parse(json));
  }
};

/// Batcher -> engine -> events stage -> collector, as the daemon wires them.
struct Chain {
  explicit Chain(const Config& c)
      : b(c.batcher.queue, c.batcher.max_batch, c.batcher.max_delay_us,
          SteadyTimeSource::instance()),
        ev(
            device_ids(c), c.events, 100000, [this](std::string t, std::string j) { out(t, j); },
            SteadyTimeSource::instance()),
        e(
            c, b, [this](events::ScoredBatch&& s) { return ev.push(std::move(s)); },
            SteadyTimeSource::instance()) {
    ev.start();
  }
  Batcher b;
  Collector out;
  events::EventsStage ev;
  Engine e;
};

TEST(Engine, ScoresEveryWindowOnceInBatches) {
  const Config c = small_config();
  Chain chain(c);
  auto& [b, out, ev, e] = chain;
  e.start(random_model(c, "m1", c.model.labels, 1));
  for (int i = 0; i < 60; ++i)
    b.push(make_window(static_cast<std::uint32_t>(i % 2), i / 2, c.window.length));
  e.stop();
  ev.stop();
  const auto& scores = out.by_topic_prefix["score"];
  ASSERT_EQ(scores.size(), 60u);
  std::set<std::pair<std::string, std::uint64_t>> seen;
  for (const auto& s : scores) {
    EXPECT_TRUE(seen.emplace(s["device"], s["window_seq"]).second) << s.dump();
    double sum = 0;
    for (const auto& [k, v] : s["scores"].items()) sum += v.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  const auto st = e.stats();
  EXPECT_EQ(st.windows, 60u);
  EXPECT_GT(st.mean_batch, 1.0);  // 60 windows queued at once form batches, not 60 calls
  EXPECT_EQ(ev.stats().latency_ms.n, 60u);
}

TEST(Engine, PaddedBatchGivesTheSameScoresAsBatchOne) {
  // A batch of 11 runs padded to 16: the real rows must not be affected by the padding.
  const Config c = small_config();
  auto m = random_model(c, "m", c.model.labels, 3);
  std::vector<float> x(static_cast<std::size_t>(16) * kChannels * c.window.length, 0.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) * 0.01f;
  std::vector<float> p16(16 * 3), p1(3);
  m->predict(x.data(), 16, c.window.length, p16.data());
  m->predict(x.data() + static_cast<std::size_t>(5) * kChannels * c.window.length, 1,
             c.window.length, p1.data());
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(p16[5 * 3 + k], p1[k], 1e-5);
}

TEST(Engine, SwapBetweenBatchesLosesNoWindowAndScoresNoneTwice) {
  const Config c = small_config();
  Chain chain(c);
  auto& [b, out, ev, e] = chain;
  e.start(random_model(c, "m1", c.model.labels, 1));
  const int n = 400;
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) {
      b.push(make_window(static_cast<std::uint32_t>(i % 2), i / 2, c.window.length));
      if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  // The new model has a new label: the head grows, the engine adopts its labels.
  auto live = e.request_swap(random_model(c, "m2", {"null", "a", "b", "c"}, 2));
  live.get();
  EXPECT_EQ(e.model_version(), "m2");
  producer.join();
  e.stop();
  ev.stop();
  const auto& scores = out.by_topic_prefix["score"];
  ASSERT_EQ(scores.size(), static_cast<std::size_t>(n));
  std::set<std::pair<std::string, std::uint64_t>> seen;
  int switches = 0;
  std::string prev = "m1";
  for (const auto& s : scores) {
    EXPECT_TRUE(seen.emplace(s["device"], s["window_seq"]).second);
    const std::string v = s["model_version"];
    EXPECT_EQ(s["scores"].size(), v == "m1" ? 3u : 4u);
    if (v != prev) ++switches;
    prev = v;
  }
  EXPECT_EQ(switches, 1);  // m1 ... m1 m2 ... m2
  EXPECT_EQ(prev, "m2");
  EXPECT_EQ(e.stats().swaps, 1u);
}

TEST(Engine, ExpiredWindowsAreDroppedAndCounted) {
  ManualTimeSource clock(0);
  Batcher b(100, 4, 0, clock, 1000);  // expire after 1 ms of (manual) queue time
  b.push(make_window(0, 0, 123));
  b.push(make_window(0, 1, 123));
  clock.advance_ns(5'000'000);
  b.push(make_window(1, 0, 123));
  std::vector<Window> out;
  ASSERT_TRUE(b.pop_batch(out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].device, 1u);
  EXPECT_EQ(b.stats().expired, 2u);
}

}  // namespace
}  // namespace primus::inference

namespace primus::inference {
namespace {

// Several instances finish batches out of order; each device's windows must still reach the
// events stage in order, every window once, and the stats add up over the instances.
TEST(EngineInstances, EachDevicesWindowsArriveInOrderFromEveryInstance) {
  for (const auto backend : {ModelBackend::kNative, ModelBackend::kLibTorch}) {
    Config c = small_config();
    c.model.instances = 3;
    c.model.backend = backend;
    c.batcher.max_batch = 3;  // many small batches: instances overtake each other
    c.batcher.max_delay_us = 0;
    c.devices.clear();
    for (int d = 0; d < 5; ++d) {
      DeviceConfig dc;
      dc.id = "d" + std::to_string(d);
      c.devices.push_back(dc);
    }
    Chain chain(c);
    auto& [b, out, ev, e] = chain;
    e.start(random_model(c, "m1", c.model.labels, 1));
    const int per_device = 40;
    std::thread producer([&] {
      for (int i = 0; i < per_device; ++i) {
        for (std::uint32_t d = 0; d < 5; ++d) b.push(make_window(d, i, c.window.length));
        if (i % 8 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    producer.join();
    e.stop();
    ev.stop();
    const auto st = e.stats();
    EXPECT_EQ(st.instances, 3);
    EXPECT_EQ(st.windows, 5u * per_device);
    EXPECT_EQ(st.path, backend == ModelBackend::kNative ? "native (" + model::gemm_backend() + ")"
                                                        : std::string("libtorch"));
    const auto& scores = out.by_topic_prefix["score"];
    ASSERT_EQ(scores.size(), 5u * per_device);
    std::map<std::string, std::int64_t> last;
    for (const auto& s : scores) {
      const std::string dev = s["device"];
      const std::int64_t seq = s["window_seq"];
      const auto it = last.find(dev);
      if (it != last.end()) {
        EXPECT_EQ(seq, it->second + 1) << dev;
      }
      last[dev] = seq;
    }
    EXPECT_EQ(last.size(), 5u);
  }
}

// A batch that fails (a NaN window) is counted and skipped; the batches after it still go out,
// in order.
TEST(EngineInstances, AFailedBatchDoesNotHoldUpTheOnesAfterIt) {
  Config c = small_config();
  c.model.instances = 2;
  c.batcher.max_batch = 2;
  c.batcher.max_delay_us = 0;
  Chain chain(c);
  auto& [b, out, ev, e] = chain;
  e.start(random_model(c, "m1", c.model.labels, 1));
  for (int i = 0; i < 30; ++i) {
    Window w = make_window(static_cast<std::uint32_t>(i % 2), i / 2, c.window.length);
    if (i == 10) w.data[5] = std::nanf("");
    b.push(std::move(w));
  }
  e.stop();
  ev.stop();
  const auto st = e.stats();
  EXPECT_EQ(st.failed_batches, 1u);
  const auto& scores = out.by_topic_prefix["score"];
  EXPECT_EQ(scores.size(), st.windows);
  EXPECT_GE(scores.size(), 28u);
  std::map<std::string, std::int64_t> last;
  for (const auto& s : scores) {
    const std::string dev = s["device"];
    const std::int64_t seq = s["window_seq"];
    if (last.count(dev)) {
      EXPECT_GT(seq, last[dev]) << dev;
    }
    last[dev] = seq;
  }
  EXPECT_EQ(last["d0"], 14);
  EXPECT_EQ(last["d1"], 14);
}

}  // namespace
}  // namespace primus::inference
