#include "agent/event/output_pump.h"

#include "agent/log/log.h"
#include "agent/log/output_channel.h"

namespace vigil {

OutputPump::~OutputPump() {
  for (int& fd : watched_fd_) {
    if (fd >= 0) watcher_.Unwatch(fd);
    fd = -1;
  }
}

void OutputPump::Update() {
  for (int stream : {1, 2}) {
    log::OutputChannel* channel = log::StandardChannelIfOpen(stream);
    int& watched = watched_fd_[stream - 1];
    const bool wants = channel != nullptr && channel->WantsWritable();
    if (wants && watched < 0) {
      const Status s = watcher_.WatchWritable(channel->fd(), [channel] {
        channel->Flush();
        log::ReportDrops();
      });
      // Not watchable (epoll refuses regular files, which never wait anyway): flushed on the
      // next line written instead.
      if (s.ok()) watched = channel->fd();
    } else if (!wants && watched >= 0) {
      watcher_.Unwatch(watched);
      watched = -1;
    }
  }
}

}  // namespace vigil
