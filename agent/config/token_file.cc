#include "agent/config/token_file.h"

namespace vigil {

StatusOr<std::string> ReadTokenFile(const std::string& path, const FileReader& read) {
  auto text = read(path);
  if (!text.ok()) return text.status();
  std::string token = std::move(*text);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return Status::Error("token file '" + path + "' is empty");
  return token;
}

StatusOr<std::string> ReadTokenFromDisk(const std::string& path) {
  return ReadTokenFile(path, [](const std::string& p) { return ReadWholeFile(p, "token file"); });
}

Status CheckTokenFile(const Config& config, const FileReader& read) {
  if (!config.control.enabled || config.control.token_file.empty()) return Status();
  auto token = ReadTokenFile(config.control.token_file, read);
  if (token.ok()) return Status();
  auto it = config.origin.find("control.token_file");
  const std::string& where = it != config.origin.end() ? it->second : config.source;
  return Status::Error(where + ": control.token_file: " + token.status().message());
}

}  // namespace vigil
