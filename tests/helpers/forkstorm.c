// forkstorm: a pool worker that forks N children, for the fork-storm tests.
//
//   forkstorm [-s] [-x CODE] [-o MARKER] N FILE
//
// Forks N children, sends READY=1 to $NOTIFY_SOCKET ("@name" is abstract, else a path) and
// appends "ready PID N\n" to FILE. Each child blocks reading a pipe whose write end only the
// worker holds, with every signal at its default action: it dies of the drain's SIGTERM, and
// exits 0 by itself once the worker is gone (EOF). The worker never reaps them: their zombies
// (or the children themselves, once orphaned) are left to Vigil.
//   -s         children in sessions of their own (setsid): outside the worker's process group,
//              so they outlive the group kill that follows the worker's exit, as orphans.
//   -x CODE    once READY=1 is sent, exit CODE at once, leaving the children behind.
//   -o MARKER  fork only when MARKER does not exist yet (and create it): a restarted run just
//              serves.
// Without -x the worker runs until SIGTERM, then exits 0.
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void Notify(const char* message) {
  const char* address = getenv("NOTIFY_SOCKET");
  if (address == NULL || address[0] == '\0') return;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  size_t len = strlen(address);
  if (len >= sizeof sun.sun_path) return;
  memcpy(sun.sun_path, address, len);
  if (address[0] == '@') sun.sun_path[0] = '\0';
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  if (sendto(fd, message, strlen(message), 0, (const struct sockaddr*)&sun, size) < 0) {
    perror("forkstorm: sd_notify");
  }
  close(fd);
}

static volatile sig_atomic_t stop = 0;
static void OnTerm(int signo) {
  (void)signo;
  stop = 1;
}

int main(int argc, char** argv) {
  int own_sessions = 0;
  int exit_code = -1;
  const char* marker = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "sx:o:")) != -1) {
    if (opt == 's') {
      own_sessions = 1;
    } else if (opt == 'x') {
      exit_code = atoi(optarg);
    } else if (opt == 'o') {
      marker = optarg;
    } else {
      return 2;
    }
  }
  if (optind + 2 != argc) {
    fprintf(stderr, "usage: forkstorm [-s] [-x CODE] [-o MARKER] N FILE\n");
    return 2;
  }
  int n = atoi(argv[optind]);
  const int out = open(argv[optind + 1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) {
    perror("forkstorm: open");
    return 1;
  }
  if (marker != NULL) {
    const int m = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (m < 0) {
      n = 0;  // An earlier run did the storm.
      exit_code = -1;
    } else {
      close(m);
    }
  }

  int release[2];
  if (pipe(release) != 0) {
    perror("forkstorm: pipe");
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    const pid_t child = fork();
    if (child < 0) {
      perror("forkstorm: fork");
      return 1;
    }
    if (child == 0) {
      if (own_sessions) setsid();
      close(release[1]);
      char byte;
      while (read(release[0], &byte, 1) > 0) {
      }
      _exit(0);
    }
  }
  close(release[0]);

  struct sigaction term;
  memset(&term, 0, sizeof term);
  term.sa_handler = OnTerm;
  sigaction(SIGTERM, &term, NULL);
  Notify("READY=1");
  char line[64];
  snprintf(line, sizeof line, "ready %d %d\n", (int)getpid(), n);
  if (write(out, line, strlen(line)) < 0) perror("forkstorm: write");
  if (exit_code >= 0) return exit_code;
  while (!stop)
    pause();
  return 0;
}
