#include "agent/supervisor/output_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/log/log.h"
#include "agent/log/output_channel.h"

namespace vigil {
namespace {
constexpr size_t kMaxLine = 64 * 1024;
}  // namespace

OutputRelay::~OutputRelay() {
  // The agent is exiting: what the workers wrote last is still in the pipes (and a last line
  // without a newline in `pending`). Pass it all on before the pipes close.
  std::vector<int> fds;
  for (const auto& [fd, stream] : streams_)
    fds.push_back(fd);
  for (int fd : fds) {
    auto it = streams_.find(fd);
    Stream& stream = it->second;
    char buf[16384];
    for (int i = 0; i < 64; ++i) {  // Bounded: a writer that never stops must not hold us.
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      stream.pending.append(buf, static_cast<size_t>(n));
    }
    EmitLines(stream);
    if (!stream.pending.empty()) Emit(stream, stream.pending);
    Close(fd);
  }
}

StatusOr<UniqueFd> OutputRelay::Open(const std::string& prefix, int target_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Status::FromErrno("pipe2", errno);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  // The child's end must block like a normal stdout would.
  int flags = ::fcntl(write_end.get(), F_GETFL);
  if (flags >= 0) ::fcntl(write_end.get(), F_SETFL, flags & ~O_NONBLOCK);
  const int fd = read_end.get();
  Status s = watcher_.Watch(fd, [this, fd] { OnReadable(fd); });
  if (!s.ok()) return s;
  streams_.emplace(fd, Stream{std::move(read_end), prefix, target_fd, {}});
  return write_end;
}

void OutputRelay::Emit(const Stream& stream, std::string_view line) {
  std::string out;
  out.reserve(stream.prefix.size() + line.size() + 2);
  out += stream.prefix;
  out += line;
  out += '\n';
  sink_(stream.target_fd, out);
}

void OutputRelay::WriteToStandardChannel(int target_fd, std::string_view lines) {
  // Never a blocking write: a reader that stalls costs lines (counted), never PID 1's loop.
  log::StandardChannel(target_fd).Write(lines);
}

void OutputRelay::OnReadable(int fd) {
  auto it = streams_.find(fd);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  char buf[16384];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    if (!stream.pending.empty()) Emit(stream, stream.pending);
    Close(fd);
    return;
  }
  stream.pending.append(buf, static_cast<size_t>(n));
  EmitLines(stream);
}

void OutputRelay::EmitLines(Stream& stream) {
  size_t start = 0;
  for (;;) {
    const size_t eol = stream.pending.find('\n', start);
    // A line that reaches kMaxLine without its end goes out in pieces of kMaxLine, wherever the
    // reads happened to split it.
    if (eol == std::string::npos || eol - start > kMaxLine) {
      if (stream.pending.size() - start < kMaxLine) break;
      Emit(stream, std::string_view(stream.pending).substr(start, kMaxLine));
      start += kMaxLine;
      continue;
    }
    Emit(stream, std::string_view(stream.pending).substr(start, eol - start));
    start = eol + 1;
  }
  stream.pending.erase(0, start);
}

void OutputRelay::Close(int fd) {
  watcher_.Unwatch(fd);
  streams_.erase(fd);
}

}  // namespace vigil
