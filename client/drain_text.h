// How a drain's result is told to people, the same wherever it is shown (`vigilctl drain
// --wait`, vigil-control's HTTP /drain): the stragglers by name, at most the hundred the drain
// names and "and N more" for the rest. Pure.
#pragma once

#include <string>

#include "vigil/v1/lifecycle.pb.h"

namespace vigil::client {

// " a b and 3 more": each straggler named after a space, then how many are not; "" for none.
std::string StragglerList(const v1::DrainProgress& progress);

}  // namespace vigil::client
