// ErrorNaming: a server interceptor that gives the errors gRPC produces on its own a message
// saying what is wrong. gRPC's C++ callback server answers a request it cannot parse (not
// protobuf, or a string field that is not UTF-8) and a method the listener does not serve with
// UNIMPLEMENTED and an empty message; with this interceptor a client reads instead
//   INVALID_ARGUMENT "malformed request: the message is not a valid vigil.v1.DrainRequest ..."
//   UNIMPLEMENTED    "this listener does not serve vigil.v1.Lifecycle (it serves ...)"
// Every other status passes unchanged: the services always name their errors themselves.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

namespace vigil::control {

// What to say instead of an empty UNIMPLEMENTED for `method` ("/pkg.Service/Method", as the
// client sent it) on a listener serving `services` (full names). Pure.
grpc::Status NameEmptyUnimplemented(const std::string& method,
                                    const std::vector<std::string>& services);

class ErrorNamingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ErrorNamingFactory(std::vector<std::string> services) : services_(std::move(services)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const std::vector<std::string> services_;
};

// The interceptor list for ServerBuilder::experimental().SetInterceptorCreators().
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> ErrorNaming(
    std::vector<std::string> services);

}  // namespace vigil::control
