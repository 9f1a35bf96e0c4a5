#include "agent/config/compat_cli.h"

#include <signal.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/config/gnu_getopt.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

using AfterMainExit = SingleCommandOptions::AfterMainExit;

std::string_view Basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// `tool` itself or a release asset's name: tini-static, tini-static-amd64, tini-arm64,
// dumb-init_1.2.5_x86_64.
bool NamesTool(std::string_view base, std::string_view tool) {
  if (base == tool) return true;
  return base.size() > tool.size() + 1 && base.substr(0, tool.size()) == tool &&
         (base[tool.size()] == '-' || base[tool.size()] == '_');
}

CompatCommand Exit(int code, std::string out, std::string err) {
  CompatCommand command;
  command.exit_code = code;
  command.out = std::move(out);
  command.err = std::move(err);
  return command;
}

// ---- tini ---------------------------------------------------------------------------------------

// VIGIL_KILL_GRACE, the one Vigil variable read in compat mode: Vigil's gentler stop of what CMD
// leaves behind instead of the tool's immediate exit. The exit to take when its value is bad.
std::optional<CompatCommand> ApplyKillGrace(const EnvLookup& env, std::string_view program,
                                            CliOptions* options) {
  const char* v = env("VIGIL_KILL_GRACE");
  if (v == nullptr) return std::nullopt;
  auto grace = ParseDuration(v);
  if (!grace.ok()) {
    return Exit(
        1, "",
        std::string(Basename(program)) + ": VIGIL_KILL_GRACE: " + grace.status().message() + "\n");
  }
  options->single.kill_grace = *grace;
  options->single.after_main_exit = AfterMainExit::kStopLeftovers;
  return std::nullopt;
}

std::string TiniUsage(std::string_view program, std::string_view vigil_version) {
  const std::string name(Basename(program));
  return name + " (Vigil " + std::string(vigil_version) + ", in place of tini " +
         std::string(kTiniVersion) +
         ")\n"
         "Usage: " +
         name +
         " [OPTIONS] PROGRAM -- [ARGS] | --version\n"
         "\n"
         "Runs PROGRAM as init: forwards it every signal, reaps every zombie, and exits with\n"
         "PROGRAM's status (128+N when a signal N killed it).\n"
         "\n"
         "Options:\n"
         "  --version      Print the version and exit (only as the sole argument).\n"
         "  -h             Print this help and exit.\n"
         "  -s             Be a child subreaper (Vigil always is when it is not PID 1).\n"
         "  -p SIGNAL      Receive SIGNAL when Vigil's parent dies, and forward it (-p SIGKILL).\n"
         "  -v             More output; repeat up to three times.\n"
         "  -w             Warn about every zombie process reaped.\n"
         "  -g             Forward signals to PROGRAM's process group, not PROGRAM alone.\n"
         "  -e EXIT_CODE   Report PROGRAM's exit code EXIT_CODE (0-255) as 0; repeatable.\n"
         "  -l             Print license information and exit.\n"
         "\n"
         "Environment:\n"
         "  TINI_SUBREAPER             Be a child subreaper (always on).\n"
         "  TINI_VERBOSITY=N           Verbosity (default 1); wins over -v.\n"
         "  TINI_KILL_PROCESS_GROUP    Same as -g.\n"
         "  VIGIL_KILL_GRACE=DURATION  Vigil's own: when PROGRAM exits, give the processes it\n"
         "                             left SIGTERM and DURATION before SIGKILL (tini: none).\n"
         "\n"
         "Vigil's own command line: vigil --help. Differences from tini: docs/compat.md.\n";
}

// The names tini's -p accepts: exactly these spellings.
constexpr std::array<std::string_view, 28> kTiniSignalNames = {
    "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",  "SIGBUS",
    "SIGFPE",  "SIGKILL", "SIGUSR1", "SIGSEGV",   "SIGUSR2", "SIGPIPE",  "SIGALRM",
    "SIGTERM", "SIGCHLD", "SIGCONT", "SIGSTOP",   "SIGTSTP", "SIGTTIN",  "SIGTTOU",
    "SIGURG",  "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGSYS"};

int TiniSignal(std::string_view name) {
  for (std::string_view known : kTiniSignalNames) {
    if (known == name) {
      auto number = ParseSignal(name);
      return number.ok() ? *number : 0;
    }
  }
  return 0;
}

// strtol's rules, as tini's -e: optional blanks and sign, decimal digits to the end (an empty
// value is 0), 0..255.
int TiniExitCode(const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const long code = std::strtol(value.c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || errno == ERANGE || code < 0 || code > 255) return -1;
  return static_cast<int>(code);
}

// atoi's rules, as TINI_VERBOSITY (tini keeps it unsigned: a negative value is a huge one).
long TiniVerbosity(const char* value) {
  const long v = std::strtol(value, nullptr, 10);
  return v < 0 ? LONG_MAX : v;
}

log::Level LevelForTiniVerbosity(long verbosity) {
  if (verbosity <= 0) return log::Level::kError;  // Fatal messages only.
  if (verbosity == 1) return log::Level::kWarn;
  if (verbosity == 2) return log::Level::kInfo;
  if (verbosity == 3) return log::Level::kDebug;
  return log::Level::kTrace;
}

std::string TiniLicense(std::string_view vigil_version) {
  return "This is Vigil " + std::string(vigil_version) +
         " standing in for tini; it contains no code of tini's.\n"
         "Vigil's license is the one it was distributed under; tini's MIT license does not\n"
         "apply to it.\n";
}

CompatCommand ParseTini(const std::vector<std::string>& args, const EnvLookup& env,
                        std::string_view vigil_version) {
  const std::string& program = args[0];
  // tini takes --version only as its sole argument.
  if (args.size() == 2 && args[1] == "--version") {
    return Exit(0,
                "tini version " + std::string(kTiniVersion) + " - vigil " +
                    std::string(vigil_version) + "\n",
                "");
  }
  const GetoptResult parsed = Getopt(args, "p:hvwgle:s", {}, env("POSIXLY_CORRECT") == nullptr);
  CompatCommand command;
  CliOptions& options = command.options;
  long verbosity = 1;
  for (const ParsedOption& option : parsed.options) {
    switch (option.name) {
      case 'h':
        return Exit(0, TiniUsage(program, vigil_version), "");
      case 'l':
        return Exit(0, TiniLicense(vigil_version), "");
      case 's':  // Vigil is always a child subreaper when it is not PID 1.
        break;
      case 'v':
        ++verbosity;
        break;
      case 'w':
        options.single.warn_on_reap = true;
        break;
      case 'g':
        options.single.signal_process_group = true;
        break;
      case 'p':
        options.parent_death_signal = TiniSignal(option.value);
        if (options.parent_death_signal == 0) {
          return Exit(1, "",
                      std::string(Basename(program)) + ": -p: not a valid signal " +
                          Quoted(option.value) + " (a name such as SIGTERM or SIGKILL)\n");
        }
        break;
      case 'e': {
        const int code = TiniExitCode(option.value);
        if (code < 0) {
          return Exit(1, "",
                      std::string(Basename(program)) + ": -e: not a valid exit code " +
                          Quoted(option.value) + " (0 to 255)\n");
        }
        options.single.success_codes.set(static_cast<size_t>(code));
        break;
      }
      default:
        break;
    }
  }
  if (!parsed.error.empty()) {
    return Exit(1, "", program + ": " + parsed.error + "\n" + TiniUsage(program, vigil_version));
  }
  if (parsed.operands.empty()) return Exit(1, "", TiniUsage(program, vigil_version));

  // The environment comes after the options, as in tini: TINI_VERBOSITY wins over -v.
  if (env("TINI_KILL_PROCESS_GROUP") != nullptr) options.single.signal_process_group = true;
  if (const char* v = env("TINI_VERBOSITY")) verbosity = TiniVerbosity(v);
  options.log_level = LevelForTiniVerbosity(verbosity);
  options.log_level_set = true;

  options.single.command = parsed.operands;
  // tini exits as soon as its child does; VIGIL_KILL_GRACE asks for Vigil's gentler way.
  options.single.after_main_exit = AfterMainExit::kExitNow;
  if (auto failed = ApplyKillGrace(env, program, &options)) return std::move(*failed);
  // tini ignores the terminal's background-read and -write stops itself and forwards neither.
  options.single.rewrite.Set(SIGTTIN, 0);
  options.single.rewrite.Set(SIGTTOU, 0);
  options.single.inherit_signal_state = true;
  command.run = true;
  return command;
}

// ---- dumb-init ----------------------------------------------------------------------------------

constexpr int kDumbInitMaxSignal = 31;

std::string DumbInitVersion(std::string_view vigil_version) {
  return "dumb-init v" + std::string(kDumbInitVersion) + " (Vigil " + std::string(vigil_version) +
         ")\n";
}

std::string DumbInitHelp(std::string_view program, std::string_view vigil_version) {
  return DumbInitVersion(vigil_version) + "Usage: " + std::string(program) +
         " [option] command [[arg] ...]\n"
         "\n"
         "Runs command as init: forwards signals to it (to its whole session by default) and\n"
         "reaps zombies; exits with its status. This is Vigil in dumb-init's place.\n"
         "\n"
         "Optional arguments:\n"
         "   -c, --single-child   Single-child mode: no new session for the command, and\n"
         "                        signals go to the command alone, not its descendants.\n"
         "   -r, --rewrite s:r    Forward a received signal s as r (numbers, 1-31); r = 0\n"
         "                        drops it. Repeatable.\n"
         "   -v, --verbose        Debugging output on stderr.\n"
         "   -h, --help           Print this help and exit.\n"
         "   -V, --version        Print the version and exit.\n"
         "\n"
         "Environment: DUMB_INIT_SETSID=0 is -c; DUMB_INIT_DEBUG=1 is -v.\n"
         "Vigil's own command line: vigil --help. Differences from dumb-init: docs/compat.md.\n";
}

std::string DumbInitRewriteUsage() {
  return "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and " +
         std::to_string(kDumbInitMaxSignal) +
         ".\n"
         "This option can be specified multiple times.\n"
         "Use --help for full usage.\n";
}

// scanf's %d: optional white space and sign, then at least one digit. Saturates.
bool ScanInt(std::string_view text, size_t* pos, long* out) {
  size_t i = *pos;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const size_t digits = i;
  long value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (value < 1000000) value = value * 10 + (text[i] - '0');
    ++i;
  }
  if (i == digits) return false;
  *out = negative ? -value : value;
  *pos = i;
  return true;
}

// dumb-init's "s:r" (as sscanf "%d:%d": anything after r is ignored).
bool ParseDumbInitRewrite(std::string_view text, int* from, int* to) {
  size_t pos = 0;
  long s = 0;
  long r = 0;
  if (!ScanInt(text, &pos, &s) || pos >= text.size() || text[pos] != ':') return false;
  ++pos;
  if (!ScanInt(text, &pos, &r)) return false;
  if (s < 1 || s > kDumbInitMaxSignal || r < 0 || r > kDumbInitMaxSignal) return false;
  *from = static_cast<int>(s);
  *to = static_cast<int>(r);
  return true;
}

CompatCommand ParseDumbInit(const std::vector<std::string>& args, const EnvLookup& env,
                            std::string_view vigil_version) {
  const std::string& program = args[0];
  static const std::vector<LongOption> kLongOptions = {{"help", false, 'h'},
                                                       {"single-child", false, 'c'},
                                                       {"rewrite", true, 'r'},
                                                       {"verbose", false, 'v'},
                                                       {"version", false, 'V'}};
  const GetoptResult parsed = Getopt(args, "hvVcr:", kLongOptions, /*permute=*/false);
  CompatCommand command;
  CliOptions& options = command.options;
  bool setsid = true;
  bool debug = false;
  std::array<int, kDumbInitMaxSignal + 1> rewrite;
  rewrite.fill(-1);
  for (const ParsedOption& option : parsed.options) {
    switch (option.name) {
      case 'h':
        return Exit(0, "", DumbInitHelp(program, vigil_version));
      case 'V':
        return Exit(0, "", DumbInitVersion(vigil_version));
      case 'v':
        debug = true;
        break;
      case 'c':
        setsid = false;
        break;
      case 'r': {
        int from = 0;
        int to = 0;
        if (!ParseDumbInitRewrite(option.value, &from, &to)) {
          return Exit(1, "", DumbInitRewriteUsage());
        }
        rewrite[static_cast<size_t>(from)] = to;
        break;
      }
      default:
        break;
    }
  }
  if (!parsed.error.empty()) return Exit(1, "", program + ": " + parsed.error + "\n");
  if (parsed.operands.empty()) {
    return Exit(1, "",
                "Usage: " + program + " [option] program [args]\nTry " + program +
                    " --help for full usage.\n");
  }
  if (const char* v = env("DUMB_INIT_DEBUG"); v != nullptr && std::string_view(v) == "1") {
    debug = true;
  }
  if (const char* v = env("DUMB_INIT_SETSID"); v != nullptr && std::string_view(v) == "0") {
    setsid = false;
  }
  if (setsid) {
    // The command's whole session is stopped by a job-control signal, unless rewritten.
    for (int signo : {SIGTSTP, SIGTTOU, SIGTTIN}) {
      if (rewrite[static_cast<size_t>(signo)] == -1) rewrite[static_cast<size_t>(signo)] = SIGSTOP;
    }
  }
  for (int signo = 1; signo <= kDumbInitMaxSignal; ++signo) {
    if (rewrite[static_cast<size_t>(signo)] != -1) {
      options.single.rewrite.Set(signo, rewrite[static_cast<size_t>(signo)]);
    }
  }
  options.log_level = debug ? log::Level::kDebug : log::Level::kError;
  options.log_level_set = true;
  options.single.command = parsed.operands;
  options.single.new_session = setsid;
  options.single.signal_process_group = setsid;
  options.single.after_main_exit =
      setsid ? AfterMainExit::kTermGroupThenExit : AfterMainExit::kExitNow;
  if (auto failed = ApplyKillGrace(env, program, &options)) return std::move(*failed);
  options.single.stop_self_on_job_control = true;
  options.chdir_root_after_start = true;
  options.forward_fault_signals = true;
  command.run = true;
  return command;
}

}  // namespace

CompatTool CompatToolForProgram(std::string_view program) {
  const std::string_view base = Basename(program);
  if (NamesTool(base, "tini")) return CompatTool::kTini;
  if (NamesTool(base, "dumb-init")) return CompatTool::kDumbInit;
  return CompatTool::kNone;
}

StatusOr<CompatTool> SelectCompatTool(std::vector<std::string>* args) {
  if (args->empty()) return CompatTool::kNone;
  if (CompatTool tool = CompatToolForProgram(args->front()); tool != CompatTool::kNone) {
    return tool;
  }
  if (args->size() < 2) return CompatTool::kNone;
  const std::string& first = (*args)[1];
  std::string value;
  size_t consumed = 0;
  if (first == "--compat") {
    if (args->size() < 3) return Status::Error("--compat needs a value: tini or dumb-init");
    value = (*args)[2];
    consumed = 2;
  } else if (first.rfind("--compat=", 0) == 0) {
    value = first.substr(9);
    consumed = 1;
  } else {
    return CompatTool::kNone;
  }
  CompatTool tool = CompatTool::kNone;
  if (value == "tini") tool = CompatTool::kTini;
  if (value == "dumb-init") tool = CompatTool::kDumbInit;
  if (tool == CompatTool::kNone) {
    return Status::Error("--compat: unknown tool " + Quoted(value) +
                         " (expected tini or dumb-init)");
  }
  args->erase(args->begin() + 1, args->begin() + 1 + static_cast<std::ptrdiff_t>(consumed));
  return tool;
}

CompatCommand ParseCompatCommandLine(CompatTool tool, const std::vector<std::string>& args,
                                     const EnvLookup& env, std::string_view vigil_version) {
  std::vector<std::string> with_name = args;
  if (with_name.empty()) with_name.emplace_back(tool == CompatTool::kTini ? "tini" : "dumb-init");
  switch (tool) {
    case CompatTool::kTini:
      return ParseTini(with_name, env, vigil_version);
    case CompatTool::kDumbInit:
      return ParseDumbInit(with_name, env, vigil_version);
    case CompatTool::kNone:
      break;
  }
  return Exit(kExitUsage, "", "vigil: no compatibility mode selected\n");
}

}  // namespace vigil
