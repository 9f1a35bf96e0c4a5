// notifystatus: a pool worker for the big-pool tests. It tells Vigil it is ready (READY=1 on
// $NOTIFY_SOCKET), then sends STATUS= with LENGTH copies of the byte BYTE (hex), and waits for
// its stop signal (SIGTERM ends it: default disposition). The longest STATUS= a datagram of
// 4096 bytes holds is 4089 bytes; 0xff is never UTF-8, so each shows as the 4 characters \xff.
//
// Usage: notifystatus [LENGTH [BYTE]]   (default: 4089 78, i.e. 'x')
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int Send(const char* path, const char* data, size_t size) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path, path, n);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // Abstract socket.
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ssize_t sent = sendto(fd, data, size, 0, (struct sockaddr*)&addr,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
  close(fd);
  return sent == (ssize_t)size ? 0 : -1;
}

int main(int argc, char** argv) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == NULL) {
    fprintf(stderr, "notifystatus: no NOTIFY_SOCKET\n");
    return 2;
  }
  size_t length = argc > 1 ? strtoul(argv[1], NULL, 10) : 4089;
  int byte = argc > 2 ? (int)strtol(argv[2], NULL, 16) : 'x';
  if (length > 4089) length = 4089;
  char datagram[4096];
  memcpy(datagram, "STATUS=", 7);
  memset(datagram + 7, byte, length);
  if (Send(path, "READY=1", 7) != 0 || Send(path, datagram, 7 + length) != 0) {
    perror("notifystatus: send");
    return 1;
  }
  for (;;)
    pause();
}
