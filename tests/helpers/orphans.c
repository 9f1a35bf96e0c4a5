// orphans: makes N orphans for the reaping tests and lets them all exit at once.
//
//   orphans [-x CODE] N FILE
//
// Forks N children that each fork a grandchild and exit at once, so the N grandchildren are
// orphaned and reparented to the nearest subreaper (Vigil). Once every child is reaped it
// appends "ready N\n" to FILE and waits for SIGUSR1; it then closes the pipe every grandchild is
// blocked reading, so that all N exit at the same moment (one coalesced burst of SIGCHLD for
// Vigil), and appends "released\n". Without -x it then waits with SIGTERM at its default action;
// with -x it exits CODE right away, racing the exits of its orphans.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void Append(int fd, const char* line) {
  size_t len = strlen(line);
  if (write(fd, line, len) != (ssize_t)len) {
    perror("orphans: write");
    exit(1);
  }
}

int main(int argc, char** argv) {
  int exit_code = -1;
  int opt;
  while ((opt = getopt(argc, argv, "x:")) != -1) {
    if (opt != 'x') return 2;
    exit_code = atoi(optarg);
  }
  if (optind + 2 != argc) {
    fprintf(stderr, "usage: orphans [-x CODE] N FILE\n");
    return 2;
  }
  const int n = atoi(argv[optind]);
  const int out = open(argv[optind + 1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) {
    perror("orphans: open");
    return 1;
  }

  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);

  int release[2];
  if (pipe(release) != 0) {
    perror("orphans: pipe");
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    pid_t child = fork();
    if (child < 0) {
      perror("orphans: fork");
      return 1;
    }
    if (child == 0) {
      pid_t grandchild = fork();
      if (grandchild < 0) _exit(1);
      if (grandchild == 0) {
        close(release[1]);
        char byte;
        while (read(release[0], &byte, 1) > 0) {
        }
        _exit(0);
      }
      _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "orphans: child %d failed\n", i);
      return 1;
    }
  }
  close(release[0]);
  char line[64];
  snprintf(line, sizeof line, "ready %d\n", n);
  Append(out, line);

  int signo;
  sigwait(&usr1, &signo);
  close(release[1]);
  Append(out, "released\n");
  if (exit_code >= 0) return exit_code;
  for (;;) pause();
}
