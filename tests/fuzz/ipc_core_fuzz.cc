// Fuzz target: the core's side of the control protocol (agent/ipc/control_link.h) with a real
// Supervisor behind it, on the fakes of the unit tests. The fuzzer plays vigil-control (it holds
// the other end of the real socketpair) and the workers: each step of the input is a command
// (built field by field, or raw payload bytes, or raw stream bytes), a sd_notify datagram from a
// worker (any bytes), a worker's exit, a signal to the core, vigil-control's death, or time
// passing.
//
// Invariants, checked after every step:
//   - every frame the core sends decodes, and parses as a CoreMessage: vigil-control's parser
//     accepts everything the core says, whatever workers put in it (issue 10, defect 1);
//   - the first message on each connection is vigil-control's options, the second a Snapshot;
//   - every command the core could read gets exactly one Result, with its id and a gRPC code
//     (0..16), an error code with a message; no Result answers a command never sent;
//   - a Drain command that starts the drain sets its deadline to the one asked for when that is
//     sooner than the configured one, and never to anything else (a deadline near INT64_MAX ms
//     must not wrap around to "now": defect 9).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/ipc/control_link.h"
#include "agent/ipc/frame.h"
#include "agent/supervisor/supervisor.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_notify_transport.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_random.h"
#include "tests/fakes/fake_scheduler.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/input_reader.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil {
namespace {

using testing::FakeClock;
using testing::FakeFdWatcher;
using testing::FakeNotifyTransport;
using testing::FakeOs;
using testing::FakeRandom;
using testing::FakeScheduler;

// FakeOs, but the descriptor a spawn passes (vigil-control's end of the socketpair) is kept, as
// the real child would inherit it.
class PassingOs final : public Os {
 public:
  FakeOs fake;
  UniqueFd passed;  // the last spawn's passed descriptor

  pid_t GetPid() override { return fake.GetPid(); }
  pid_t GetProcessGroup() override { return fake.GetProcessGroup(); }
  bool Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) override {
    const bool ok = fake.Spawn(request, child, error);
    if (ok && request.pass_fd >= 0) {
      passed.Reset(::fcntl(request.pass_fd, F_DUPFD_CLOEXEC, 0));
      ::fcntl(passed.get(), F_SETFL, O_NONBLOCK);
      passed_pid = child->pid;
      ++connections;
    }
    return ok;
  }
  Status SignalPidfd(int pidfd, int signo) override { return fake.SignalPidfd(pidfd, signo); }
  Status SignalPid(pid_t pid, int signo) override { return fake.SignalPid(pid, signo); }
  Status SignalGroup(pid_t pgid, int signo) override { return fake.SignalGroup(pgid, signo); }
  Status SignalAll(int signo) override { return fake.SignalAll(signo); }
  StatusOr<WaitResult> WaitAny() override { return fake.WaitAny(); }
  std::vector<pid_t> ListDescendants() override { return fake.ListDescendants(); }
  Status SetChildSubreaper() override { return fake.SetChildSubreaper(); }
  pid_t ProcessGroupOf(pid_t pid) override { return fake.ProcessGroupOf(pid); }
  StatusOr<UniqueFd> OpenPidfd(pid_t pid) override { return fake.OpenPidfd(pid); }
  ProcessFacts InspectPidfd(int pidfd) override { return fake.InspectPidfd(pidfd); }
  std::optional<uint64_t> OomKillCount() override { return fake.OomKillCount(); }
  StatusOr<UniqueFd> StartConnect(const SocketAddress& address, ConnectState* state) override {
    return fake.StartConnect(address, state);
  }
  Status ConnectError(int fd) override { return fake.ConnectError(fd); }
  bool IsForegroundOfTerminal(int fd) override { return fake.IsForegroundOfTerminal(fd); }
  Status SetForegroundGroup(int tty_fd, pid_t pgid) override {
    return fake.SetForegroundGroup(tty_fd, pgid);
  }
  Status StopSelf() override { return fake.StopSelf(); }

  pid_t passed_pid = -1;  // vigil-control's pid
  int connections = 0;    // spawns of vigil-control, each a new socketpair
};

Config MakeConfig() {
  Config config;
  config.source = "fuzz";
  for (const char* name : {"a", "b"}) {
    PoolConfig pool;
    pool.name = name;
    pool.command = {std::string(name) + "-server"};
    pool.backoff.jitter = 0;
    config.pools.push_back(pool);
  }
  config.pools[0].replicas = 2;
  config.pools[0].readiness.mode = ReadinessMode::kNotify;
  config.control.binary = "vigil-control";
  return config;
}

class Harness {
 public:
  Harness()
      : config_(MakeConfig()),
        supervisor_(config_, PoolServices{os_, scheduler_, watcher_, notify_, clock_, random_}),
        link_(config_, supervisor_, os_, scheduler_, watcher_, clock_, "vigil-control") {
    os_.fake.next_unscripted_pid = 100;
    supervisor_.SetListener(&link_);
    supervisor_.SetExtraReaper(
        [this](pid_t pid, int status) { return link_.OnProcessExited(pid, status); });
    supervisor_.Start();
    link_.Start();
    Settle();
  }

  void Step(fuzz::InputReader& in) {
    const int op = in.Range<int>(0, 8);
    if (trace_) std::fprintf(stderr, "step: op %d\n", op);
    switch (op) {
      case 0:
      case 1:
        SendCommand(in);
        break;
      case 2:
        SendRaw(EncodeFrame(in.String(512)));
        break;
      case 3:
        SendRaw(in.String(64));
        break;
      case 4: {  // (one statement each: the order of evaluation of arguments is unspecified)
        const int pool = in.Range<int>(0, 1);
        const int slot = in.Range<int>(0, 2);
        Notify(pool, slot, in.String(4200));
        break;
      }
      case 5: {
        const int pool = in.Range<int>(0, 1);
        const int slot = in.Range<int>(0, 2);
        WorkerExits(pool, slot, WaitStatus(in));
        break;
      }
      case 6: {
        static constexpr int kSignals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGWINCH};
        supervisor_.OnSignal(ReceivedSignal{kSignals[in.Range<int>(0, 5)], 999, SI_USER});
        break;
      }
      case 7:
        ControlDies(WaitStatus(in));
        break;
      default:
        scheduler_.AdvanceBy(Duration(in.Range<int64_t>(0, 120'000'000'000)));
    }
    Settle();
  }

 private:
  // Exited with a code, or killed by a signal.
  static int WaitStatus(fuzz::InputReader& in) {
    const int v = in.Range<int>(0, 255 + 64);
    return v < 256 ? W_EXITCODE(v, 0) : W_EXITCODE(0, v - 255);
  }

  // A command built field by field.
  void SendCommand(fuzz::InputReader& in) {
    internal::v1::ControlMessage message;
    internal::v1::Command& c = *message.mutable_command();
    c.set_id(in.Any<uint64_t>());
    const char* pools[] = {"a", "b", "", "zz"};
    switch (in.Range<int>(0, 6)) {
      case 0: {
        auto* d = c.mutable_drain();
        // Mostly what vigil-control sends (PRESTOP, API); sometimes a trigger it may not ask for.
        d->set_trigger(static_cast<internal::v1::DrainTrigger>(in.Bool() ? in.Range<int>(2, 3)
                                                                         : in.Range<int>(-1, 8)));
        d->set_reason(in.String(64));
        d->set_deadline_ms(in.Any<int64_t>());
        break;
      }
      case 1:
        c.mutable_scale()->set_pool(pools[in.Range<int>(0, 3)]);
        c.mutable_scale()->set_replicas(in.Range<int32_t>(-2, 6));
        break;
      case 2:
        c.mutable_restart()->set_pool(pools[in.Range<int>(0, 3)]);
        c.mutable_restart()->set_max_unavailable(in.Any<int32_t>());
        break;
      case 3:
        c.mutable_signal()->set_pool(pools[in.Range<int>(0, 3)]);
        c.mutable_signal()->set_slot(in.Range<int32_t>(-2, 4));
        c.mutable_signal()->set_signo(in.Range<int32_t>(-1, 70));
        break;
      case 4:
        c.mutable_shutdown()->set_reason(in.String(64));
        break;
      case 5:
        c.mutable_metrics();
        break;
      default:
        break;  // no body: "unknown command"
    }
    const bool drain_started = supervisor_.drain().started;
    const MonoTime now = clock_.Now();
    SendRaw(EncodeFrame(message.SerializeAsString()));
    if (c.has_drain() && !drain_started && supervisor_.drain().started &&
        supervisor_.drain().started_at == now) {
      // The drain this command started ends at its deadline if that is sooner than the
      // configured one, and the deadline is computed without overflow (in 128 bits here).
      const __int128 configured =
          (config_.drain.grace_period - config_.drain.safety_margin).count();
      const __int128 asked = static_cast<__int128>(c.drain().deadline_ms()) * 1000000;
      const __int128 expected = asked > 0 && asked < configured ? asked : configured;
      const __int128 got = (supervisor_.drain().deadline - now).count();
      FUZZ_CHECK(got == expected, "a Drain with deadline_ms " +
                                      std::to_string(c.drain().deadline_ms()) + " ends in " +
                                      std::to_string(static_cast<long long>(got)) + "ns");
    }
  }

  // Sends bytes as vigil-control would write them. `sent_` decodes them as the core will, so
  // every command the core can read is known to be owed a Result.
  void SendRaw(const std::string& bytes) {
    if (!connected_) return;
    sent_.Append(bytes.data(), bytes.size());
    for (;;) {
      bool corrupt = false;
      std::optional<std::string> payload = sent_.Next(&corrupt);
      if (corrupt) {  // the core will hang up: nothing is owed on this connection any more
        hanging_up_ = true;
        expected_.clear();
      }
      if (!payload || hanging_up_) break;
      internal::v1::ControlMessage message;
      if (message.ParseFromString(*payload) && message.has_command()) {
        expected_.insert(message.command().id());
      }
    }
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(os_.passed.get(), bytes.data() + done, bytes.size() - done,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;  // the core closed its end, or its buffer is full: Settle() reads
      done += static_cast<size_t>(n);
      Settle();
    }
    Settle();
  }

  // `text` arrives on the notify socket of the worker, from the worker itself.
  void Notify(int pool_index, int slot, std::string text) {
    const Pool& pool = *supervisor_.pools()[static_cast<size_t>(pool_index)];
    if (trace_) std::fprintf(stderr, "notify %s/%d\n", pool.name().c_str(), slot);
    if (slot >= pool.slot_count() || pool.pid_of(slot) <= 0) return;
    const int fd = notify_.LastFdWithLabel(pool.name() + "/" + std::to_string(slot));
    if (trace_) {
      std::fprintf(stderr, "notify %s/%d (pid %d, fd %d): '%s'\n", pool.name().c_str(), slot,
                   pool.pid_of(slot), fd, fuzz::Printable(text).c_str());
    }
    if (fd < 0) return;
    notify_.Queue(fd, std::move(text), pool.pid_of(slot));
    watcher_.Fire(fd);
  }

  void WorkerExits(int pool_index, int slot, int wait_status) {
    const Pool& pool = *supervisor_.pools()[static_cast<size_t>(pool_index)];
    if (slot >= pool.slot_count() || pool.pid_of(slot) <= 0) return;
    os_.fake.QueueReaped(pool.pid_of(slot), wait_status);
    supervisor_.OnSignal(ReceivedSignal{SIGCHLD, pool.pid_of(slot), CLD_EXITED});
  }

  void ControlDies(int wait_status) {
    if (os_.passed_pid <= 0) return;
    os_.fake.QueueReaped(os_.passed_pid, wait_status);
    os_.passed_pid = -1;
    supervisor_.OnSignal(ReceivedSignal{SIGCHLD, 0, CLD_KILLED});
  }

  // Runs what the event loop would (timers due, readable and writable callbacks) and reads what the
  // core sent, until nothing moves.
  void Settle() {
    for (int round = 0; round < 64; ++round) {
      scheduler_.RunDue();
      bool moved = false;
      for (int fd : watcher_.WatchedFds()) {
        watcher_.Fire(fd);
        moved |= watcher_.FireWritable(fd);
      }
      moved |= ReadCore();
      if (!moved) break;
    }
    // Every command the core could read has been answered.
    if (connected_) {
      FUZZ_CHECK(expected_.empty(), std::to_string(expected_.size()) +
                                        " command(s) not answered, first id " +
                                        std::to_string(*expected_.begin()));
    }
  }

  // Reads and checks every frame the core sent; false when nothing arrived.
  bool ReadCore() {
    if (os_.connections != connection_) {  // vigil-control was restarted: a new connection
      connection_ = os_.connections;
      passed_fd_ = os_.passed.get();
      decoder_ = FrameDecoder();
      sent_ = FrameDecoder();
      connected_ = passed_fd_ >= 0;
      hanging_up_ = false;
      seen_ = 0;
      expected_.clear();
    }
    if (!connected_) return false;
    bool moved = false;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(passed_fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {  // the core hung up (a corrupt stream, a stalled reader): nothing is owed
        connected_ = false;
        expected_.clear();
        break;
      }
      moved = true;
      decoder_.Append(buf, static_cast<size_t>(n));
      if (save_) std::fwrite(buf, 1, static_cast<size_t>(n), save_);
    }
    for (;;) {
      bool corrupt = false;
      std::optional<std::string> payload = decoder_.Next(&corrupt);
      FUZZ_CHECK(!corrupt, "the core sent a corrupt frame");
      if (!payload) break;
      internal::v1::CoreMessage message;
      FUZZ_CHECK(message.ParseFromString(*payload),
                 "vigil-control cannot parse a message of the core (" +
                     std::to_string(payload->size()) + " bytes): '" + fuzz::Printable(*payload) +
                     "'");
      FUZZ_CHECK(seen_ != 0 || message.has_options(),
                 "a connection that does not start with vigil-control's options");
      FUZZ_CHECK(seen_ != 1 || message.has_snapshot(),
                 "a connection whose second message is not a Snapshot");
      FUZZ_CHECK(seen_ == 0 || !message.has_options(), "options after the first message");
      ++seen_;
      if (trace_) std::fprintf(stderr, "core sent: %s\n", Describe(message).c_str());
      if (message.has_result()) CheckResult(message.result());
    }
    return moved;
  }

  void CheckResult(const internal::v1::Result& r) {
    auto owed = expected_.find(r.id());
    FUZZ_CHECK(owed != expected_.end(),
               "a Result for id " + std::to_string(r.id()) + ", which is not owed");
    expected_.erase(owed);
    FUZZ_CHECK(r.code() >= 0 && r.code() <= 16, "gRPC code " + std::to_string(r.code()));
    FUZZ_CHECK(r.code() == 0 || !r.message().empty(),
               "error code " + std::to_string(r.code()) + " without a message");
  }

  static std::string Describe(const internal::v1::CoreMessage& m) {
    if (m.has_options()) return "options";
    if (m.has_snapshot()) return "snapshot";
    if (m.has_result()) {
      return "result id " + std::to_string(m.result().id()) + " code " +
             std::to_string(m.result().code()) + " '" + m.result().message() + "'";
    }
    return "event kind " + std::to_string(m.event().kind()) + " pool '" + m.event().pool() +
           "' slot " + std::to_string(m.event().slot());
  }

  // FUZZ_TRACE=1 in the environment: each step and each message of the core, on stderr.
  const bool trace_ = std::getenv("FUZZ_TRACE") != nullptr;
  // FUZZ_SAVE_STREAM=FILE: the bytes the core sent are appended to FILE (seeds for ipc_control).
  std::unique_ptr<FILE, int (*)(FILE*)> save_file_{
      std::getenv("FUZZ_SAVE_STREAM") ? std::fopen(std::getenv("FUZZ_SAVE_STREAM"), "ab") : nullptr,
      [](FILE* f) { return f ? std::fclose(f) : 0; }};
  FILE* const save_ = save_file_.get();
  Config config_;
  PassingOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeFdWatcher watcher_;
  FakeNotifyTransport notify_{&os_.fake};
  FakeRandom random_;
  Supervisor supervisor_;
  ControlLink link_;

  int connection_ = 0;
  int passed_fd_ = -1;
  bool connected_ = false;
  bool hanging_up_ = false;
  int seen_ = 0;                      // messages received on this connection
  FrameDecoder decoder_;              // what the core sent
  FrameDecoder sent_;                 // what we sent, as the core decodes it
  std::multiset<uint64_t> expected_;  // ids of the commands owed a Result
};

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::QuietLogging();
  vigil::fuzz::InputReader in(data, size);
  auto harness = std::make_unique<vigil::Harness>();
  for (int step = 0; step < 48 && in.remaining() > 0; ++step)
    harness->Step(in);
  return 0;
}
