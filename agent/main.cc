// vigil: the PID-1 core. main() only wires concrete types together; see docs/architecture.md.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/config/cli.h"
#include "agent/config/compat_cli.h"
#include "agent/config/config_loader.h"
#include "agent/config/token_file.h"
#include "agent/event/event_loop.h"
#include "agent/event/output_pump.h"
#include "agent/init/single_command.h"
#include "agent/ipc/control_link.h"
#include "agent/lifecycle/termination_message.h"
#include "agent/log/log.h"
#include "agent/notify/notify_socket.h"
#include "agent/signal/exit_status.h"
#include "agent/signal/source.h"
#include "agent/supervisor/supervisor.h"
#include "agent/sys/compat_process.h"
#include "agent/sys/linux_os.h"
#include "agent/sys/socket_path.h"
#include "agent/sys/tcp_table.h"
#include "agent/sys/user_db.h"

#include <sys/random.h>
#include <sys/resource.h>

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

namespace vigil {
namespace {

// What both modes set up before their first child: subreaper (when not PID 1), the loop and
// the signalfd, with `on_signal` called for every signal received.
struct Core {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<SignalSource> signals;
};

StatusOr<Core> SetUpCore(Os& os, const Clock& clock, bool with_fault_signals = false) {
  if (os.GetPid() != 1) {
    // Orphans of our children are reparented to us rather than to the real init, so we can
    // reap them (shareProcessNamespace, tests, running under another supervisor).
    if (Status s = os.SetChildSubreaper(); !s.ok()) {
      log::Warn("{}: orphans will not be reaped by vigil", s.message());
    }
  }
  auto loop = EventLoop::Create(clock);
  if (!loop.ok()) return loop.status();
  if (with_fault_signals) BlockFaultSignals();
  auto signals = SignalSource::Create(with_fault_signals);
  if (!signals.ok()) return signals.status();
  return Core{std::move(*loop), std::make_unique<SignalSource>(std::move(*signals))};
}

Status WatchSignals(Core& core, std::function<void(const ReceivedSignal&)> on_signal) {
  SignalSource* signals = core.signals.get();
  return core.loop->WatchUrgent(signals->fd(), [signals, on_signal] {
    for (const ReceivedSignal& signal : signals->ReadPending())
      on_signal(signal);
  });
}

// The core loop: until `finished()`, or a failure of epoll itself (reported, exit 1).
int RunUntil(EventLoop& loop, const std::function<bool()>& finished,
             const std::function<int()>& exit_code) {
  OutputPump output(loop);
  while (!finished()) {
    output.Update();
    if (Status s = loop.RunOnce(); !s.ok()) {
      log::Error("{}", s.message());
      return kExitInternal;
    }
  }
  return exit_code();
}

int RunSingleCommand(const CliOptions& options) {
  LinuxOs os;
  MonotonicClock clock;
  auto core = SetUpCore(os, clock, options.forward_fault_signals);
  if (!core.ok()) {
    log::Error("{}", core.status().message());
    return kExitInternal;
  }
  // What tini's and dumb-init's command lines ask for (compat_cli.h); nothing otherwise.
  SingleCommandOptions single = options.single;
  if (single.inherit_signal_state) single.signals_at_start = SignalStateAtStart();
  if (options.parent_death_signal != 0) {
    if (Status s = SetParentDeathSignal(options.parent_death_signal); !s.ok()) {
      log::Error("{}", s.message());
      return kExitInternal;
    }
  }
  if (single.new_session) {
    // Only a terminal we let go of can become CMD's; without one CMD runs without.
    if (Status s = GiveUpControllingTerminal(0); !s.ok()) {
      log::Debug("not handing a terminal to the command: {}", s.message());
    }
  }
  SingleCommand command(os, *core->loop, clock, std::move(single));
  if (Status s = command.Start(); !s.ok()) {
    log::Error("{}", s.message());
    return command.exit_code();
  }
  if (options.chdir_root_after_start) {
    if (Status s = ChangeToRootDirectory(); !s.ok()) log::Debug("{}", s.message());
  }
  if (Status s = WatchSignals(*core, [&](const ReceivedSignal& sig) { command.OnSignal(sig); });
      !s.ok()) {
    log::Error("{}", s.message());
    return kExitInternal;
  }
  const int code = RunUntil(
      *core->loop, [&] { return command.finished(); }, [&] { return command.exit_code(); });
  // Kubernetes shows it in the pod's status; written only where the file already exists.
  const char* path = std::getenv("VIGIL_TERMINATION_MESSAGE_PATH");
  std::string joined;
  for (const std::string& arg : options.single.command)
    joined += (joined.empty() ? "" : " ") + arg;
  if (Status s = WriteTerminationMessage(path != nullptr ? path : "/dev/termination-log",
                                         BuildSingleCommandTerminationMessage(joined, code));
      !s.ok()) {
    log::Warn("{}", s.message());
  }
  return code;
}

// The notify directory and its transport, checked before any worker exists: a directory that
// cannot be made or is unsafe, or that a pool's user cannot reach, is a usage error (exit 2).
StatusOr<std::unique_ptr<LinuxNotifyTransport>> SetUpNotify(const Config& config, bool root) {
  auto directory = NotifyDirectory::Open(config.notify.directory);
  if (!directory.ok()) return directory.status();
  if (directory->stale_removed() > 0) {
    log::Info("notify directory {}: removed {} stale socket(s) of an earlier run",
              directory->path(), directory->stale_removed());
  }
  if (root) {
    for (const PoolConfig& pool : config.pools) {
      if (pool.user.empty() && pool.group.empty()) continue;
      SpawnRequest credentials;
      if (Status s = ResolveCredentials(pool, UserDb(), &credentials); !s.ok()) return s;
      const uid_t uid = credentials.uid == static_cast<uid_t>(-1) ? 0 : credentials.uid;
      const gid_t gid = credentials.gid == static_cast<gid_t>(-1) ? 0 : credentials.gid;
      std::vector<gid_t> groups = credentials.groups;
      if (groups.empty()) groups.push_back(gid);
      const std::string who =
          "pool " + pool.name + "'s user " + (pool.user.empty() ? std::string("root") : pool.user);
      if (Status s = directory->CheckReachableBy(uid, groups, who); !s.ok()) return s;
    }
  }
  return LinuxNotifyTransport::Create(std::move(*directory), config.notify.credentials);
}

// A thousand workers need a thousand notify sockets: lift the soft descriptor limit to the hard
// one for the core. Returns the soft limit the core then runs with.
uint64_t RaiseFileLimit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return UINT64_MAX;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      log::Warn("cannot raise RLIMIT_NOFILE");
      limit.rlim_cur = before;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
}

// vigil-control lives next to vigil unless configured otherwise.
std::string ControlBinary(const Config& config) {
  if (!config.control.binary.empty()) return config.control.binary;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "vigil-control";
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "vigil-control";
}

int RunPools(const Config& config) {
  LinuxOs os;
  MonotonicClock clock;
  auto core = SetUpCore(os, clock);
  if (!core.ok()) {
    log::Error("{}", core.status().message());
    return kExitInternal;
  }
  const uint64_t file_limit = RaiseFileLimit();
  EventLoop& loop = *core->loop;
  uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) seed = ::getpid();
  XorShiftRandom random(seed);
  const bool root = ::geteuid() == 0;
  for (const PoolConfig& pool : config.pools) {
    if (!root && (!pool.user.empty() || !pool.group.empty())) {
      log::Warn("pool {}: not running as root, so user/group are ignored", pool.name);
    }
  }
  auto notify = SetUpNotify(config, root);
  if (!notify.ok()) {
    log::Error("{}", notify.status().message());
    return kExitUsage;
  }
  log::Debug("notify sockets in {}, senders read with {}", (*notify)->directory().path(),
             (*notify)->uses_pidfd() ? "SCM_PIDFD" : "SCM_CREDENTIALS");
  PoolServices services{os, loop, loop, **notify, clock, random, root};
  // Read once, before any child exists: what workers, probes and hooks inherit.
  const ChildEnvironment environment = ChildEnvironment::FromProcess();
  services.environment = &environment;
  const UserDb users;  // /etc/passwd and /etc/group, without NSS
  services.users = &users;
  // The pod's TCP sockets, for the traffic-aware drain; its netlink socket opens on first use.
  const std::unique_ptr<TcpTable> tcp = MakeLinuxTcpTable();
  services.tcp = tcp.get();
  Supervisor supervisor(config, services);
  supervisor.SetDescriptorLimit(file_limit);
  if (Status s = supervisor.CheckDescriptors(); !s.ok()) {
    // Before anything is started: a pool that cannot fit would fail spawn after spawn.
    log::Error("{}", s.message());
    return kExitUsage;
  }
  std::unique_ptr<ControlLink> control;
  if (config.control.enabled) {
    const std::string binary = ControlBinary(config);
    if (::access(binary.c_str(), X_OK) != 0) {
      // The workers matter more than the API: run without it rather than not at all.
      log::Error("control plane disabled: cannot execute {}", binary);
    } else {
      control = std::make_unique<ControlLink>(config, supervisor, os, loop, loop, clock, binary);
      supervisor.SetListener(control.get());
      supervisor.SetExtraReaper(
          [&control](pid_t pid, int status) { return control->OnProcessExited(pid, status); });
    }
  }
  if (Status s = WatchSignals(*core, [&](const ReceivedSignal& sig) { supervisor.OnSignal(sig); });
      !s.ok()) {
    log::Error("{}", s.message());
    return kExitInternal;
  }
  supervisor.Start();
  if (control) control->Start();
  const int code = RunUntil(
      loop, [&] { return supervisor.finished(); }, [&] { return supervisor.exit_code(); });
  if (control) control->Stop();
  if (Status s = WriteTerminationMessage(config.termination_message_path,
                                         BuildTerminationMessage(supervisor, clock.Now()));
      !s.ok()) {
    log::Warn("{}", s.message());
  }
  return code;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  // Invoked as tini or dumb-init (or `vigil --compat TOOL`): that tool's command line.
  auto compat = SelectCompatTool(&args);
  if (!compat.ok()) {
    std::fprintf(stderr, "vigil: %s\n", compat.status().message().c_str());
    return kExitUsage;
  }
  if (*compat != CompatTool::kNone) {
    CompatCommand command = ParseCompatCommandLine(
        *compat, args, [](const char* name) { return ::getenv(name); }, VIGIL_VERSION);
    std::fputs(command.out.c_str(), stdout);
    std::fputs(command.err.c_str(), stderr);
    if (!command.run) return command.exit_code;
    log::Setup(command.options.log_level, command.options.log_format);
    return RunSingleCommand(command.options);
  }
  auto options = ParseCommandLine(args, [](const char* name) { return ::getenv(name); });
  if (!options.ok()) {
    std::fprintf(stderr, "vigil: %s\n", options.status().message().c_str());
    return kExitUsage;
  }
  switch (options->action) {
    case CliOptions::Action::kHelp:
      std::fputs(UsageText().c_str(), stdout);
      return 0;
    case CliOptions::Action::kVersion:
      std::printf("vigil %s\n", VIGIL_VERSION);
      return 0;
    case CliOptions::Action::kRun:
    case CliOptions::Action::kCheck:
      break;
  }
  if (options->mode == CliOptions::Mode::kPools) {
    auto config = LoadConfig(
        *options, [](const char* name) { return ::getenv(name); },
        [](const std::string& path) { return ReadWholeFile(path); });
    if (!config.ok()) {
      std::fprintf(stderr, "vigil: %s\n", config.status().message().c_str());
      return kExitUsage;
    }
    if (options->action == CliOptions::Action::kCheck) {
      std::printf("%s: configuration OK:", config->source.c_str());
      for (const PoolConfig& pool : config->pools) {
        std::printf(" %s (%d x %s)", pool.name.c_str(), pool.replicas, pool.command[0].c_str());
      }
      std::printf("\n");
      return 0;
    }
    // What the control plane will need from disk, checked before any worker starts: a missing
    // secret must not surface as vigil-control restarting forever.
    if (Status s = CheckTokenFile(
            *config, [](const std::string& p) { return ReadWholeFile(p, "token file"); });
        !s.ok()) {
      std::fprintf(stderr, "vigil: %s\n", s.message().c_str());
      return kExitUsage;
    }
    if (config->control.enabled) {
      // Its directory made, a stale socket removed, anything else refused, before any worker
      // starts: not vigil-control failing in a restart loop later.
      if (Status s = PrepareSocketPath(config->control.socket); !s.ok()) {
        auto it = config->origin.find("control.socket");
        std::fprintf(stderr, "vigil: %s: control.socket: %s\n",
                     (it != config->origin.end() ? it->second : config->source).c_str(),
                     s.message().c_str());
        return kExitUsage;
      }
    }
    log::Setup(config->log_level, config->log_format);
    return RunPools(*config);
  }
  if (options->action == CliOptions::Action::kCheck) {
    std::printf("single-command mode: %s\n", options->single.command[0].c_str());
    return 0;
  }
  log::Setup(options->log_level, options->log_format);
  return RunSingleCommand(*options);
}

// Everything Vigil must say is said by now: Main() returned, so every object it made (the loop,
// the workers' records, the control link) is gone, the termination message is written, and
// main() has flushed the log's channels. What is left to exit() is stdio's buffers (--help,
// --version and the compat tools' text on stdout) and the destructors of static objects that
// only free memory (the logger registry, libstdc++'s streams, protobuf's default instances, the
// option tables): running them costs the exit time of PID 1 page faults for code that was never
// touched, so stdio is flushed and the process ends here. Sanitizer builds take exit()'s way:
// their leak check and their exit status on a report run as exit handlers.
[[noreturn]] void ExitNow(int code) {
#ifdef VIGIL_EXIT_THROUGH_EXIT_HANDLERS
  std::exit(code);
#else
  std::fflush(nullptr);
  ::_exit(code);
#endif
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  // First, before anything else: every signal we handle is held for the signalfd.
  vigil::BlockCoreSignals();
  try {
    const int code = vigil::Main(argc, argv);
    // Lines still buffered for a slow reader get a moment, never an unbounded wait.
    vigil::log::FlushStandardChannels(std::chrono::milliseconds(250));
    vigil::ExitNow(code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "vigil: internal error\n");
  }
  return vigil::kExitInternal;
}
