// Fuzz target: vigil-control's side of the control protocol. The fuzzer plays the core: its
// input is what arrives on vigil-control's fd 3, read by the real CoreConnection (frames,
// CoreMessage parsing, on its reader thread) into the real ReadModel, with two commands pending
// (a Metrics scrape, whose Result goes through ToPrometheus and the text serializer of /metrics,
// and a Drain).
//
// The first byte picks the shape of the rest: the raw byte stream, or a list of payloads, each
// framed (so that mutations of a message stay in one frame).
//
// The first frame goes through OptionsFromFrame, as vigil-control's main() reads it; when it is
// valid options, the connection gets the rest (main() has consumed it), else the whole stream
// (main() would exit; the connection's parser is fuzzed all the same).
//
// Invariants: options that are accepted are in range (ports, socket mode, no NUL in a path, a
// socket path); every pending command is completed exactly once (by its Result or by "the core
// went away"), and the connection reports its end once; the read model never holds more
// workers in a pool than the largest pool the config accepts, whatever slot an event names;
// the public status it serves serializes and parses back; a histogram's buckets are the ones the
// core sent plus +Inf.
#include <sys/socket.h>
#include <unistd.h>

#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "agent/control/core_connection.h"
#include "agent/control/metrics_collector.h"
#include "agent/control/options.h"
#include "agent/control/read_model.h"
#include "agent/ipc/frame.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/input_reader.h"

namespace vigil::control {
namespace {

// The largest pool the config accepts (agent/config/pool_options.cc: replicas 0..100000).
constexpr int kMaxReplicas = 100000;

void CheckMetrics(const internal::v1::Result& result) {
  if (result.code() != 0) return;
  const auto families = ToPrometheus(result.metrics());
  FUZZ_CHECK(families.size() == static_cast<size_t>(result.metrics_size()),
             "ToPrometheus lost families");
  for (int f = 0; f < result.metrics_size(); ++f) {
    const auto& in = result.metrics(f);
    const auto& out = families[static_cast<size_t>(f)];
    FUZZ_CHECK(out.metric.size() == static_cast<size_t>(in.metrics_size()), "lost samples");
    if (in.type() != internal::v1::METRIC_TYPE_HISTOGRAM) continue;
    for (int m = 0; m < in.metrics_size(); ++m) {
      const size_t buckets = static_cast<size_t>(
          std::min(in.metrics(m).bucket_bounds_size(), in.metrics(m).bucket_counts_size()));
      FUZZ_CHECK(out.metric[static_cast<size_t>(m)].histogram.bucket.size() == buckets + 1,
                 "a histogram's buckets are not the core's plus +Inf");
    }
  }
  (void)prometheus::TextSerializer().Serialize(families);
}

// What main() does with the first frame: the options, checked; returns the bytes after it when
// they are options, else the whole stream.
std::string SkipOptions(const std::string& stream) {
  FrameDecoder decoder;
  decoder.Append(stream.data(), stream.size());
  bool corrupt = false;
  const std::optional<std::string> first = decoder.Next(&corrupt);
  if (!first) return stream;
  const StatusOr<Options> o = OptionsFromFrame(*first);
  if (!o.ok()) {
    FUZZ_CHECK(!o.status().message().empty(), "refused options without a reason");
    return stream;
  }
  FUZZ_CHECK(!o->socket.empty(), "options without a socket");
  for (const std::string* text :
       {&o->socket, &o->api_address, &o->token_file, &o->metrics_address}) {
    FUZZ_CHECK(text->find('\0') == std::string::npos, "a NUL in a path or address");
  }
  for (int port : {o->health_port, o->api_port, o->http_port})
    FUZZ_CHECK(port >= 0 && port <= 65535, "port " + std::to_string(port));
  FUZZ_CHECK(o->socket_mode >= 0 && o->socket_mode <= 07777, "socket mode");
  return stream.substr(4 + first->size());
}

}  // namespace
}  // namespace vigil::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  using namespace vigil::control;
  fuzz::QuietLogging();
  fuzz::InputReader in(data, size);
  std::string stream;
  if (in.Bool()) {
    while (in.remaining() > 0)
      stream += EncodeFrame(in.String(size));
  } else {
    stream = in.Rest();
  }
  stream = SkipOptions(stream);

  int fds[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
  ReadModel model;
  std::mutex mu;
  std::condition_variable cv;
  int closed = 0;
  std::map<uint64_t, int> completions;
  {
    CoreConnection core(fds[0], model, [&] {
      std::lock_guard<std::mutex> lock(mu);
      ++closed;
      cv.notify_all();
    });
    core.Start();
    // Commands pending when the core's bytes arrive: ids 1 and 2.
    internal::v1::Command metrics;
    metrics.mutable_metrics();
    core.Send(metrics, [&](const internal::v1::Result& r) {
      CheckMetrics(r);
      std::lock_guard<std::mutex> lock(mu);
      ++completions[1];
    });
    internal::v1::Command drain;
    drain.mutable_drain()->set_trigger(internal::v1::DRAIN_TRIGGER_API);
    core.Send(drain, [&](const internal::v1::Result&) {
      std::lock_guard<std::mutex> lock(mu);
      ++completions[2];
    });
    // The core's side: write everything, then hang up; the reader ends at the end of the stream.
    for (size_t done = 0; done < stream.size();) {
      const ssize_t n = ::send(fds[1], stream.data() + done, stream.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;  // the reader stopped at a corrupt frame and the connection is closing
      done += static_cast<size_t>(n);
    }
    ::shutdown(fds[1], SHUT_WR);
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return closed > 0; });
    }
  }  // joins the reader
  ::close(fds[1]);

  FUZZ_CHECK(closed == 1, "the connection ended " + std::to_string(closed) + " times");
  FUZZ_CHECK(completions[1] == 1 && completions[2] == 1,
             "commands completed " + std::to_string(completions[1]) + " and " +
                 std::to_string(completions[2]) + " times");
  const v1::AgentStatus status = model.Status();
  for (const auto& pool : status.pools()) {
    FUZZ_CHECK(pool.workers_size() <= kMaxReplicas,
               "pool '" + fuzz::Printable(pool.name()) + "' holds " +
                   std::to_string(pool.workers_size()) + " workers");
  }
  std::string serialized;
  FUZZ_CHECK(status.SerializeToString(&serialized), "the public status does not serialize");
  v1::AgentStatus again;
  FUZZ_CHECK(again.ParseFromString(serialized), "the public status does not parse back");
  return 0;
}
