#include "agent/base/whole_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "agent/base/quote.h"
#include "agent/base/unique_fd.h"

namespace vigil {

StatusOr<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::FromErrno("cannot read " + what + " " + Quoted(path), errno);
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("cannot read " + what + " " + Quoted(path), errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) {
      return Status::Error(what + " " + Quoted(path) + " is larger than 1 MiB");
    }
  }
  return text;
}

}  // namespace vigil
