#include "agent/sys/compat_process.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace vigil {

Status SetParentDeathSignal(int signo) {
  if (::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(signo), 0, 0, 0) != 0) {
    return Status::FromErrno("prctl(PR_SET_PDEATHSIG, " + std::to_string(signo) + ")", errno);
  }
  return Status();
}

Status GiveUpControllingTerminal(int fd) {
  if (::ioctl(fd, TIOCNOTTY) != 0) return Status::FromErrno("ioctl(TIOCNOTTY)", errno);
  return Status();
}

Status ChangeToRootDirectory() {
  if (::chdir("/") != 0) return Status::FromErrno("chdir(\"/\")", errno);
  return Status();
}

}  // namespace vigil
