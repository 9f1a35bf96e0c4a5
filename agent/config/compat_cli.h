// The command lines of tini and dumb-init, taken as those tools take them, so that Vigil can
// stand in for either (`ENTRYPOINT ["tini", "-g", "--"]` keeps its meaning):
//
//   tini [-h] [-s] [-p SIGNAL] [-v...] [-w] [-g] [-e CODE...] [-l] [--] CMD [ARGS...]
//   tini --version
//     env TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP (set = on), TINI_VERBOSITY=N (wins over -v)
//   dumb-init [-c|--single-child] [-r|--rewrite S:R...] [-v|--verbose] [-h|--help]
//             [-V|--version] [--] CMD [ARGS...]
//     env DUMB_INIT_SETSID=0 (no new session), DUMB_INIT_DEBUG=1 (verbose)
//
// The tool is chosen by the program's name (argv[0]'s basename: `tini`, `tini-static`,
// `tini-static-amd64`, `dumb-init`, `dumb-init_1.2.5_x86_64`, ...) or by `vigil --compat TOOL`
// as the first argument. Parsing follows the tools' getopt exactly: tini's options may follow
// the command's name (GNU getopt permutes, unless POSIXLY_CORRECT is set), so `tini CMD -x`
// needs `--` as with tini; dumb-init stops at the first non-option and accepts unambiguous
// abbreviations of its long options. A usage error prints glibc's getopt message and exits 1,
// as both tools do. Everything parsed becomes an ordinary CliOptions for single-command mode;
// docs/compat.md says what each flag maps to and where Vigil differs.
//
// Pure: the environment is passed in; the texts to print are returned, not printed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/cli.h"

namespace vigil {

enum class CompatTool { kNone, kTini, kDumbInit };

// The tool `program` (argv[0]) names, by its basename; kNone for any other name.
CompatTool CompatToolForProgram(std::string_view program);

// Which tool the command line asks for: by argv[0], else by `--compat TOOL` / `--compat=TOOL`
// as args[1], which is then removed from `args`. kNone: Vigil's own command line. An unknown
// TOOL or a missing one is an error (Vigil's usage error, exit 2).
StatusOr<CompatTool> SelectCompatTool(std::vector<std::string>* args);

// What a compat command line asks for: run (single-command mode with `options`), or print
// `out` to stdout and `err` to stderr and exit with `exit_code` (help, version, errors).
struct CompatCommand {
  bool run = false;
  CliOptions options;
  std::string out;
  std::string err;
  int exit_code = 0;
};

// `args[0]` is the program name as invoked (used in messages, as getopt does).
CompatCommand ParseCompatCommandLine(CompatTool tool, const std::vector<std::string>& args,
                                     const EnvLookup& env, std::string_view vigil_version);

// The versions of the tools whose behaviour Vigil follows (shown by --version / -V).
inline constexpr std::string_view kTiniVersion = "0.19.0";
inline constexpr std::string_view kDumbInitVersion = "1.2.5";

}  // namespace vigil
