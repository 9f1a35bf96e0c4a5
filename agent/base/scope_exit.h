// ScopeExit: runs a callable when the scope it guards ends, however it ends (return or an
// exception on its way to the loop's catch). For the state a handler sets for the length of an
// event and must never leave set. The callable must not throw: it runs in a destructor.
#pragma once

#include <utility>

namespace vigil {

template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() { f_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  F f_;
};

}  // namespace vigil
