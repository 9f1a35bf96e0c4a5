// Status and StatusOr<T>: errors as values at module boundaries.
//
// A Status is either OK or carries a human-readable message (which names what was wrong: the
// flag, the file and field, the syscall) and, for OS failures, the errno. The core never throws
// across a module boundary or a loop callback; functions that can fail return one of these.
// Value types, safe to copy; no thread affinity.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace vigil {

class Status {
 public:
  Status() = default;  // OK.

  static Status Error(std::string message) { return Status(std::move(message), 0); }
  // An OS failure: "<what>: <strerror(err)>", keeping err for callers that branch on it.
  static Status FromErrno(const std::string& what, int err);

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  int os_error() const { return os_error_; }  // 0 unless made by FromErrno.

 private:
  Status(std::string message, int os_error)
      : failed_(true), message_(std::move(message)), os_error_(os_error) {}

  bool failed_ = false;
  std::string message_;
  int os_error_ = 0;
};

// Either a T or a non-OK Status.
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design.
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design.
    assert(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vigil
