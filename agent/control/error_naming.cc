#include "agent/control/error_naming.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <atomic>

#include "agent/control/request_checks.h"

namespace vigil::control {
namespace {

using grpc::experimental::InterceptionHookPoints;

// gRPC creates, calls and deletes an interceptor on threads of its own, ordered by gRPC's
// synchronisation, which the TSan stage cannot see (Debian's gRPC is not instrumented): the
// object hands itself over explicitly, as reactors.h does: a release at the end of construction
// and before each Proceed() (after which gRPC may delete it on another thread), an acquire before
// each use and in the destructor.
class ErrorNamingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ErrorNamingInterceptor(std::string method, const std::vector<std::string>& services)
      : method_(std::move(method)), services_(services) {
    handoffs_.store(1, std::memory_order_release);
  }
  ~ErrorNamingInterceptor() override { (void)handoffs_.load(std::memory_order_acquire); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    (void)handoffs_.load(std::memory_order_acquire);
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(NameEmptyUnimplemented(method_, services_));
      }
    }
    handoffs_.fetch_add(1, std::memory_order_release);
    methods->Proceed();
  }

 private:
  const std::string method_;
  const std::vector<std::string>& services_;
  std::atomic<int> handoffs_{0};
};

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

grpc::experimental::Interceptor* ErrorNamingFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ErrorNamingInterceptor(info->method() != nullptr ? info->method() : "", services_);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> ErrorNaming(
    std::vector<std::string> services) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<ErrorNamingFactory>(std::move(services)));
  return out;
}

}  // namespace vigil::control
