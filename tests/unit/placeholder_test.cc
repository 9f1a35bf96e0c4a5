#include <gtest/gtest.h>
#include "agent/init/signals.h"
TEST(Signals, ParsesTerm) { EXPECT_EQ(*vigil::ParseSignal("TERM"), SIGTERM); }
