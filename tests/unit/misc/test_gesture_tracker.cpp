#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/events/gesture_tracker.h"

namespace primus::events {
namespace {

const std::vector<std::string> kLabels{"null", "wave", "tap"};

struct Step {
  std::vector<float> scores;
};

TEST(GestureTracker, TableOfScoreSequences) {
  struct Case {
    const char* name;
    std::vector<std::vector<float>> seq;
    std::vector<std::pair<std::string, int>> want;  // label, windows
  };
  const std::vector<Case> cases{
      {"all null", {{0.9f, 0.05f, 0.05f}, {0.8f, 0.1f, 0.1f}}, {}},
      {"below threshold", {{0.4f, 0.55f, 0.05f}, {0.4f, 0.55f, 0.05f}, {1, 0, 0}}, {}},
      {"one wave", {{0, 1, 0}, {0, 0.9f, 0.1f}, {0.9f, 0.1f, 0}}, {{"wave", 2}}},
      {"wave then tap", {{0, 1, 0}, {0, 0, 1}, {0, 0, 1}, {1, 0, 0}}, {{"wave", 1}, {"tap", 2}}},
      {"interrupted wave", {{0, 1, 0}, {1, 0, 0}, {0, 1, 0}, {1, 0, 0}}, {{"wave", 1}, {"wave", 1}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    GestureTracker t("d", kLabels, "null");
    std::vector<GestureEvent> got;
    std::int64_t k = 0;
    for (const auto& s : c.seq) {
      if (auto e = t.update(s.data(), {k * 100, k}, {k * 100 + 250, k + 2}, 0.6, "v1")) got.push_back(*e);
      ++k;
    }
    ASSERT_EQ(got.size(), c.want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].label, c.want[i].first);
      EXPECT_EQ(got[i].windows, c.want[i].second);
      EXPECT_EQ(got[i].seq, i);
      EXPECT_EQ(got[i].model_version, "v1");
    }
  }
}

TEST(GestureTracker, OnsetOffsetConfidenceAndFlush) {
  GestureTracker t("dev", kLabels, "null");
  const float a[] = {0.1f, 0.7f, 0.2f};
  const float b[] = {0.0f, 0.9f, 0.1f};
  EXPECT_FALSE(t.update(a, {1000, 10}, {2000, 20}, 0.6, "m"));
  EXPECT_FALSE(t.update(b, {1100, 11}, {2100, 21}, 0.6, "m"));
  auto e = t.flush();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->device, "dev");
  EXPECT_EQ(e->onset.t_host_ns, 1000);
  EXPECT_EQ(e->onset.t_device_us, 10);
  EXPECT_EQ(e->offset.t_host_ns, 2100);
  EXPECT_NEAR(e->confidence, 0.8, 1e-6);
  EXPECT_FALSE(t.flush());
  const auto j = nlohmann::json::parse(to_json(*e));
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["type"], "gesture");
  EXPECT_EQ(j["label"], "wave");
  EXPECT_EQ(j["windows"], 2);
}

}  // namespace
}  // namespace primus::events
