// sigrecord: a workload for the integration tests that records every signal it receives.
//
//   sigrecord [-k SIGNO]... [-d SIGNO]... FILE
//
// Blocks every catchable signal (1..SIGRTMAX but KILL, STOP, CHLD, glibc's two internal
// signals and those given with -d), appends "ready PID PGID\n" to FILE, then takes the signals
// one at a time with sigwaitinfo() and appends each as "SIGNO\n". It exits 128+SIGNO on the
// first signal not given with -k; a -k signal is recorded and it keeps waiting. SIGCHLD stays at
// its default so that a child stopping or exiting is not mistaken for a forwarded signal.
//   -k SIGNO  record SIGNO and keep running.
//   -d SIGNO  leave SIGNO unblocked at its default action (e.g. 20 so that SIGTSTP stops it).
// Signals are numbers: the tests pass Python's signal.Signals values.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int record_fd = -1;

static void Usage(void) {
  fprintf(stderr, "usage: sigrecord [-k SIGNO]... [-d SIGNO]... FILE\n");
  exit(2);
}

static int ParseSignal(const char* text) {
  char* end = NULL;
  long value = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 1 || value > SIGRTMAX) Usage();
  return (int)value;
}

static void Append(const char* line) {
  size_t len = strlen(line);
  // O_APPEND and one write per line: a reader never sees half a line.
  if (write(record_fd, line, len) != (ssize_t)len) {
    perror("sigrecord: write");
    exit(1);
  }
}

int main(int argc, char** argv) {
  sigset_t keep, deflt;
  sigemptyset(&keep);
  sigemptyset(&deflt);
  int opt;
  while ((opt = getopt(argc, argv, "k:d:")) != -1) {
    switch (opt) {
      case 'k': sigaddset(&keep, ParseSignal(optarg)); break;
      case 'd': sigaddset(&deflt, ParseSignal(optarg)); break;
      default: Usage();
    }
  }
  if (optind + 1 != argc) Usage();

  // Start from default dispositions (a shell's `&` ignores INT and QUIT), then block the rest.
  sigset_t waited;
  sigemptyset(&waited);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    sigaction(signo, &dfl, NULL);  // EINVAL for glibc's internal signals: ignored.
    if (signo == SIGCHLD || sigismember(&deflt, signo) == 1) continue;
    sigaddset(&waited, signo);  // Refused for glibc's internal signals: fine.
  }
  if (sigprocmask(SIG_SETMASK, &waited, NULL) != 0) {
    perror("sigrecord: sigprocmask");
    return 1;
  }

  record_fd = open(argv[optind], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (record_fd < 0) {
    perror("sigrecord: open");
    return 1;
  }
  char line[64];
  snprintf(line, sizeof line, "ready %d %d\n", (int)getpid(), (int)getpgrp());
  Append(line);

  for (;;) {
    int signo = sigwaitinfo(&waited, NULL);
    if (signo < 0) {
      if (errno == EINTR) continue;  // A -d signal with a no-op default (SIGCONT, SIGWINCH).
      perror("sigrecord: sigwaitinfo");
      return 1;
    }
    snprintf(line, sizeof line, "%d\n", signo);
    Append(line);
    if (sigismember(&keep, signo) != 1) return 128 + signo;
  }
}
