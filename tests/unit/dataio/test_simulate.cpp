// `primus-model simulate`: the simulator's labelled CSV, and its --gestures choice.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "src/ctl/exit_status.h"
#include "src/evaluation/simulate_command.h"

namespace {

using primus::evaluation::run_simulate;
using primus::evaluation::SimulateCommandOptions;

/// The labels of a simulate CSV (its last column), each once.
std::set<std::string> labels_of(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  std::set<std::string> out;
  while (std::getline(in, line)) out.insert(line.substr(line.rfind(',') + 1));
  return out;
}

TEST(Simulate, PerformsEveryGestureByDefault) {
  SimulateCommandOptions o;
  o.seconds = 120;
  std::ostringstream out, err;
  ASSERT_EQ(run_simulate(o, out, err), primus::ctl::kExitOk) << err.str();
  EXPECT_EQ(labels_of(out.str()),
            (std::set<std::string>{"null", "wave", "circle", "shake", "tap"}));
}

TEST(Simulate, PerformsOnlyTheChosenGestures) {
  SimulateCommandOptions o;
  o.seconds = 120;
  o.gestures = {"wave", "circle"};  // the demo's right-wrist
  std::ostringstream out, err;
  ASSERT_EQ(run_simulate(o, out, err), primus::ctl::kExitOk) << err.str();
  EXPECT_EQ(labels_of(out.str()), (std::set<std::string>{"null", "wave", "circle"}));
}

TEST(Simulate, AnUnknownGestureIsAUsageErrorThatNamesIt) {
  SimulateCommandOptions o;
  o.seconds = 10;
  o.gestures = {"wave", "jump"};
  std::ostringstream out, err;
  EXPECT_EQ(run_simulate(o, out, err), primus::ctl::kExitUsage);
  EXPECT_NE(err.str().find("\"jump\""), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
