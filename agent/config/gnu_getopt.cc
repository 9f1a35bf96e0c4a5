#include "agent/config/gnu_getopt.h"

#include <utility>

namespace vigil {

GetoptResult Getopt(const std::vector<std::string>& args, std::string_view shorts,
                    const std::vector<LongOption>& longs, bool permute) {
  GetoptResult result;
  size_t i = 1;
  while (i < args.size()) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {  // An operand ("-" alone is one too).
      if (!permute) break;
      result.operands.push_back(arg);
      ++i;
      continue;
    }
    if (!longs.empty() && arg[1] == '-') {
      const std::string_view body = std::string_view(arg).substr(2);
      const size_t eq = body.find('=');
      const std::string_view name = body.substr(0, eq);
      const LongOption* found = nullptr;
      std::vector<const LongOption*> candidates;
      for (const LongOption& option : longs) {
        if (option.name == name) {
          found = &option;
          break;
        }
        if (option.name.substr(0, name.size()) == name) candidates.push_back(&option);
      }
      if (found == nullptr && candidates.size() == 1) found = candidates.front();
      if (found == nullptr && candidates.size() > 1) {
        result.error = "option '--" + std::string(name) + "' is ambiguous; possibilities:";
        for (const LongOption* option : candidates)
          result.error += " '--" + std::string(option->name) + "'";
        return result;
      }
      if (found == nullptr) {
        result.error = "unrecognized option '" + arg + "'";
        return result;
      }
      ParsedOption parsed{found->short_name, {}};
      if (eq != std::string_view::npos) {
        if (!found->has_arg) {
          result.error = "option '--" + std::string(found->name) + "' doesn't allow an argument";
          return result;
        }
        parsed.value = std::string(body.substr(eq + 1));
      } else if (found->has_arg) {
        if (i + 1 >= args.size()) {
          result.error = "option '--" + std::string(found->name) + "' requires an argument";
          return result;
        }
        parsed.value = args[++i];
      }
      result.options.push_back(std::move(parsed));
      ++i;
      continue;
    }
    // A cluster of short options: "-vvv", "-gs", "-e143", "-p" "SIGKILL".
    for (size_t k = 1; k < arg.size(); ++k) {
      const char c = arg[k];
      const size_t pos = shorts.find(c);
      if (c == ':' || pos == std::string_view::npos) {
        result.error = std::string("invalid option -- '") + c + "'";
        return result;
      }
      if (pos + 1 < shorts.size() && shorts[pos + 1] == ':') {
        std::string value;
        if (k + 1 < arg.size()) {
          value = arg.substr(k + 1);
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          result.error = std::string("option requires an argument -- '") + c + "'";
          return result;
        }
        result.options.push_back({c, std::move(value)});
        break;
      }
      result.options.push_back({c, {}});
    }
    ++i;
  }
  result.operands.insert(result.operands.end(), args.begin() + static_cast<std::ptrdiff_t>(i),
                         args.end());
  return result;
}

}  // namespace vigil
