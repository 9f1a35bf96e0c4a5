#include "client/drain_text.h"

namespace vigil::client {

std::string StragglerList(const v1::DrainProgress& progress) {
  std::string stragglers;
  for (const auto& s : progress.stragglers())
    stragglers += " " + s;
  if (progress.stragglers_total() > progress.stragglers_size()) {
    stragglers += " and " +
                  std::to_string(progress.stragglers_total() - progress.stragglers_size()) +
                  " more";
  }
  return stragglers;
}

}  // namespace vigil::client
