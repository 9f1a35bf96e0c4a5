// vigil: the PID-1 core. main() only wires concrete types together; see docs/architecture.md.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "agent/log/log.h"

#include "agent/base/clock.h"
#include "agent/config/cli.h"
#include "agent/config/config_loader.h"
#include "agent/event/event_loop.h"
#include "agent/ipc/control_link.h"
#include "agent/init/exit_status.h"
#include "agent/init/signal_source.h"
#include "agent/init/single_command.h"
#include "agent/log/log.h"
#include "agent/notify/notify_socket.h"
#include "agent/supervisor/supervisor.h"
#include "agent/sys/linux_os.h"

#include <sys/random.h>
#include <sys/resource.h>

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

namespace vigil {
namespace {

int RunSingleCommand(const CliOptions& options) {
  LinuxOs os;
  MonotonicClock clock;

  if (os.GetPid() != 1) {
    // Orphans of CMD are reparented to us rather than to the real init, so we can reap them
    // (shareProcessNamespace, tests, running under another supervisor).
    if (Status s = os.SetChildSubreaper(); !s.ok()) {
      log::Warn("{}: orphans will not be reaped by vigil", s.message());
    }
  }

  auto loop = EventLoop::Create(clock);
  if (!loop.ok()) {
    log::Error("{}", loop.status().message());
    return kExitInternal;
  }
  auto signals = SignalSource::Create();
  if (!signals.ok()) {
    log::Error("{}", signals.status().message());
    return kExitInternal;
  }

  SingleCommand command(os, **loop, clock, options.single);
  if (Status s = command.Start(); !s.ok()) {
    log::Error("{}", s.message());
    return command.exit_code();
  }
  Status watched = (*loop)->Watch(signals->fd(), [&] {
    for (const ReceivedSignal& signal : signals->ReadPending()) command.OnSignal(signal);
  });
  if (!watched.ok()) {
    log::Error("{}", watched.message());
    return kExitInternal;
  }
  while (!command.finished()) {
    if (Status s = (*loop)->RunOnce(); !s.ok()) {
      log::Error("{}", s.message());
      return kExitInternal;
    }
  }
  return command.exit_code();
}

// Unique per run, so that two agents sharing a network namespace (two containers of one pod)
// never collide on a notify socket name.
std::string NotifyPrefix() {
  uint64_t token = 0;
  if (::getrandom(&token, sizeof token, GRND_NONBLOCK) != sizeof token) {
    token = static_cast<uint64_t>(::getpid()) << 32 ^
            static_cast<uint64_t>(MonotonicClock().Now().time_since_epoch().count());
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "vigil-%016llx", static_cast<unsigned long long>(token));
  return buf;
}

// A thousand workers need a thousand notify sockets: lift the soft descriptor limit to the hard
// one for the core.
void RaiseFileLimit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) log::Warn("cannot raise RLIMIT_NOFILE");
  }
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
  if (os.GetPid() != 1) {
    if (Status s = os.SetChildSubreaper(); !s.ok()) {
      log::Warn("{}: orphans will not be reaped by vigil", s.message());
    }
  }
  RaiseFileLimit();
  auto loop = EventLoop::Create(clock);
  if (!loop.ok()) {
    log::Error("{}", loop.status().message());
    return kExitInternal;
  }
  auto signals = SignalSource::Create();
  if (!signals.ok()) {
    log::Error("{}", signals.status().message());
    return kExitInternal;
  }
  LinuxNotifyTransport notify;
  const std::string prefix = NotifyPrefix();
  uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) seed = ::getpid();
  XorShiftRandom random(seed);
  const bool root = ::geteuid() == 0;
  for (const PoolConfig& pool : config.pools) {
    if (!root && (!pool.user.empty() || !pool.group.empty())) {
      log::Warn("pool {}: not running as root, so user/group are ignored", pool.name);
    }
  }
  PoolServices services{os, **loop, **loop, notify, clock, random, prefix, root};
  Supervisor supervisor(config, services);
  std::unique_ptr<ControlLink> control;
  if (config.control.enabled) {
    const std::string binary = ControlBinary(config);
    if (::access(binary.c_str(), X_OK) != 0) {
      // The workers matter more than the API: run without it rather than not at all.
      log::Error("control plane disabled: cannot execute {}", binary);
    } else {
      control = std::make_unique<ControlLink>(config, supervisor, os, **loop, **loop, clock, binary);
      supervisor.SetListener(control.get());
      supervisor.SetExtraReaper([&control](pid_t pid, int status) {
        return control->OnProcessExited(pid, status);
      });
    }
  }
  Status watched = (*loop)->Watch(signals->fd(), [&] {
    for (const ReceivedSignal& signal : signals->ReadPending()) supervisor.OnSignal(signal);
  });
  if (!watched.ok()) {
    log::Error("{}", watched.message());
    return kExitInternal;
  }
  supervisor.Start();
  if (control) control->Start();
  while (!supervisor.finished()) {
    if (Status s = (*loop)->RunOnce(); !s.ok()) {
      log::Error("{}", s.message());
      return kExitInternal;
    }
  }
  if (control) control->Stop();
  return supervisor.exit_code();
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
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
    auto config = LoadConfig(*options, [](const char* name) { return ::getenv(name); },
                             ReadWholeFile);
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

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  // First, before anything else: every signal we handle is held for the signalfd.
  vigil::BlockCoreSignals();
  try {
    return vigil::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "vigil: internal error\n");
  }
  return vigil::kExitInternal;
}
