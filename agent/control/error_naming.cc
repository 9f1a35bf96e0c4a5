#include "agent/control/error_naming.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>

#include "agent/control/request_checks.h"

namespace vigil::control {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

grpc::Status NameEmptyUnimplemented(const std::string& method,
                                    const std::vector<std::string>& services) {
  // "/pkg.Service/Method"
  const size_t slash = method.find('/', 1);
  const std::string service = method.size() > 1 && method[0] == '/' && slash != std::string::npos
                                  ? method.substr(1, slash - 1)
                                  : "";
  const std::string name = slash != std::string::npos ? method.substr(slash + 1) : "";
  if (std::find(services.begin(), services.end(), service) == services.end()) {
    return grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED,
        "this listener does not serve " + Excerpt(method) + " (it serves " + Join(services) + ")");
  }
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  const auto* m = descriptor != nullptr ? descriptor->FindMethodByName(name) : nullptr;
  if (m == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "no method " + Excerpt(name) + " in " + service);
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "malformed request: the message is not a valid " +
                          m->input_type()->full_name() +
                          " (not protobuf, or a string field that is not UTF-8)");
}

}  // namespace vigil::control
