#include "src/core/seq_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace primus {
namespace {

TEST(SeqTracker, TableOfSequences) {
  struct Row {
    std::uint32_t seq;
    SeqVerdict verdict;
    std::uint32_t lost;
  };
  const std::vector<Row> rows = {
      {10, SeqVerdict::kFirst, 0},         {11, SeqVerdict::kNext, 0},
      {11, SeqVerdict::kDuplicate, 0},     {15, SeqVerdict::kGap, 3},
      {13, SeqVerdict::kLate, 0},          {13, SeqVerdict::kDuplicate, 0},
      {12, SeqVerdict::kLate, 0},          {14, SeqVerdict::kLate, 0},
      {11, SeqVerdict::kDuplicate, 0},     {16, SeqVerdict::kNext, 0},
      {0, SeqVerdict::kLate, 0},  // 16 back: late, not seen before
      {5000, SeqVerdict::kGap, 4983},      {2000, SeqVerdict::kRestart, 0},
      {2001, SeqVerdict::kNext, 0},        {0xFFFFFFFFu, SeqVerdict::kRestart, 0},
      {0, SeqVerdict::kNext, 0},  // wraps
      {1u << 30, SeqVerdict::kRestart, 0},
  };
  SeqTracker t;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SeqResult r = t.observe(rows[i].seq);
    EXPECT_EQ(r.verdict, rows[i].verdict) << "row " << i;
    EXPECT_EQ(r.lost, rows[i].lost) << "row " << i;
  }
}

TEST(SeqTracker, UnwrapsAcrossTheWrap) {
  SeqTracker t;
  std::uint32_t s = 0xFFFFFFF0u;
  EXPECT_EQ(t.observe(s).unwrapped, 0u);
  for (int i = 1; i <= 40; ++i) {
    const SeqResult r = t.observe(++s);
    EXPECT_EQ(r.verdict, SeqVerdict::kNext);
    EXPECT_EQ(r.unwrapped, static_cast<std::uint64_t>(i));
  }
}

}  // namespace
}  // namespace primus
