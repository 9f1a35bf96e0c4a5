#include "agent/log/output_channel.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace vigil::log {
namespace {

// How much of `data` to write in one call: at most PIPE_BUF bytes ending at a line's end, since
// a non-blocking pipe takes such a write whole or not at all, so a reader that stalls (or a
// Vigil that exits) leaves whole lines in the pipe. A line longer than PIPE_BUF goes as it can.
size_t NextChunk(std::string_view data) {
  if (data.size() <= PIPE_BUF) return data.size();
  const size_t eol = data.substr(0, PIPE_BUF).rfind('\n');
  return eol == std::string_view::npos ? data.size() : eol + 1;
}

size_t CountLines(std::string_view text) {
  const size_t n = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  return n == 0 && !text.empty() ? 1 : n;
}

}  // namespace

OutputChannel::OutputChannel(int fd, size_t capacity) : capacity_(capacity) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return;  // Closed: every line is dropped and counted.
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    // A new open file description of the same pipe or terminal, so O_NONBLOCK is ours alone.
    // O_NOCTTY: PID 1 must not acquire a controlling terminal by opening one.
    char path[32];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    fd_ = UniqueFd(::open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (fd_.valid()) {
      kind_ = Kind::kNonBlocking;
      return;
    }
    kind_ = Kind::kPolled;  // No /proc: poll before each write (see the header).
  } else if (S_ISSOCK(st.st_mode)) {
    kind_ = Kind::kSocket;
  } else {
    kind_ = Kind::kFile;  // Regular files and block devices do not wait on a reader.
  }
  fd_ = UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!fd_.valid()) kind_ = Kind::kNone;
}

size_t OutputChannel::WriteSome(std::string_view data) {
  for (;;) {
    ssize_t n = -1;
    switch (kind_) {
      case Kind::kNone:
        errno = EBADF;
        break;
      case Kind::kFile:
      case Kind::kNonBlocking:
        n = ::write(fd_.get(), data.data(), data.size());
        break;
      case Kind::kSocket:
        n = ::send(fd_.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case Kind::kPolled: {
        pollfd p{fd_.get(), POLLOUT, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
          if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            errno = EPIPE;
            break;
          }
          return 0;
        }
        // A free pipe buffer takes PIPE_BUF bytes without waiting.
        n = ::write(fd_.get(), data.data(), std::min<size_t>(data.size(), PIPE_BUF));
        break;
      }
    }
    if (n >= 0) {
      failed_ = false;
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    failed_ = true;  // EPIPE (the reader is gone), ENOSPC, EBADF...: nobody will take this.
    return 0;
  }
}

void OutputChannel::Drop(std::string_view lines) {
  const size_t n = CountLines(lines);
  dropped_lines_ += n;
  unreported_ += n;
}

size_t OutputChannel::WriteMost(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const std::string_view rest = data.substr(done);
    const size_t n = WriteSome(rest.substr(0, NextChunk(rest)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

bool OutputChannel::Write(std::string_view lines) {
  if (lines.empty()) return true;
  if (buffer_.empty()) {
    const size_t n = WriteMost(lines);
    if (n == lines.size()) return true;
    if (failed_) {
      Drop(lines.substr(n));
      return false;
    }
    if (n > 0 || lines.size() <= capacity_) {
      // Started (its rest must follow, or the reader sees half a line), or it fits.
      buffer_.append(lines.substr(n));
      return true;
    }
    Drop(lines);
    return false;
  }
  if (buffer_.size() + lines.size() > capacity_) {
    Drop(lines);
    Flush();
    return false;
  }
  buffer_.append(lines);
  Flush();
  return true;
}

void OutputChannel::Flush() {
  buffer_.erase(0, WriteMost(buffer_));
  if (failed_ && !buffer_.empty()) {
    Drop(buffer_);
    buffer_.clear();
  }
}

void OutputChannel::FlushFor(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Flush();
    if (!WantsWritable()) return;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd_.get(), POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
  }
}

uint64_t OutputChannel::TakeDropsToReport(bool now) {
  if ((!now && !buffer_.empty()) || unreported_ == 0) return 0;
  const uint64_t n = unreported_;
  unreported_ = 0;
  return n;
}

}  // namespace vigil::log
