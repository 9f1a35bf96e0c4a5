// vigil: the PID-1 core. main() only wires concrete types together; see docs/architecture.md.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/base/clock.h"
#include "agent/config/cli.h"
#include "agent/event/event_loop.h"
#include "agent/init/exit_status.h"
#include "agent/init/signal_source.h"
#include "agent/init/single_command.h"
#include "agent/log/log.h"
#include "agent/sys/linux_os.h"

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
      spdlog::warn("{}: orphans will not be reaped by vigil", s.message());
    }
  }

  auto loop = EventLoop::Create(clock);
  if (!loop.ok()) {
    spdlog::error("{}", loop.status().message());
    return kExitInternal;
  }
  auto signals = SignalSource::Create();
  if (!signals.ok()) {
    spdlog::error("{}", signals.status().message());
    return kExitInternal;
  }

  SingleCommand command(os, **loop, clock, options.single);
  if (Status s = command.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return command.exit_code();
  }
  Status watched = (*loop)->Watch(signals->fd(), [&] {
    for (const ReceivedSignal& signal : signals->ReadPending()) command.OnSignal(signal);
  });
  if (!watched.ok()) {
    spdlog::error("{}", watched.message());
    return kExitInternal;
  }
  while (!command.finished()) {
    if (Status s = (*loop)->RunOnce(); !s.ok()) {
      spdlog::critical("{}", s.message());
      return kExitInternal;
    }
  }
  return command.exit_code();
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
      break;
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
