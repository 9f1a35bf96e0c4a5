// GNU getopt's parsing as glibc does it, for the command lines of tini and dumb-init
// (compat_cli.h): short options in clusters ("-vvv", "-e143", "-p" "SIGKILL"), long options
// ("--name", "--name=value", "--name value") with unambiguous abbreviations, `--`, and with
// `permute` GNU's default of options after operands (without it, as with "+" or
// POSIXLY_CORRECT, the first operand ends the options). Errors carry glibc's words, without the
// program name. Pure; nothing is printed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct LongOption {
  std::string_view name;
  bool has_arg;
  char short_name;
};

struct ParsedOption {
  char name;
  std::string value;
};

struct GetoptResult {
  std::vector<ParsedOption> options;  // In command-line order, up to the first error.
  std::vector<std::string> operands;  // The command and its arguments.
  std::string error;                  // glibc's message without the program name; empty: none.
};

// `args[0]` is the program name. `shorts` is getopt's option string ("p:hv": -p takes a value).
// With `permute` (GNU getopt's default), options may follow operands until `--`; without it the
// first operand ends them.
GetoptResult Getopt(const std::vector<std::string>& args, std::string_view shorts,
                    const std::vector<LongOption>& longs, bool permute);

}  // namespace vigil
