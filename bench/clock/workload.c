// bench-workload: the workloads the benchmark runs under each agent. Linked statically, so that
// its own start costs as little as possible and the same under every agent; every stamp is
// CLOCK_MONOTONIC, stored into the shared file (shm.h) before anything else happens.
//
//   execstamp SHM PROG ARGS...  t[0] = now, then execv(PROG): placed between unshare and the
//                               agent, it stamps the exec of the agent (same pid: PID 1).
//   lifecycle SHM               t[1] = now (first statement); "R" on stdout; waits for a byte on
//                               stdin; t[2] = now; _exit(0).
//   sigrecv                     SIGUSR1 handler writes CLOCK_MONOTONIC (8 bytes) to stdout;
//                               "R" on stdout; exits at EOF on stdin.
//   orphans SHM N               makes N orphans (grandchildren whose parent exited, so they are
//                               reparented to the agent) blocked on a pipe; "R"; on a byte on
//                               stdin: t[2] = now and releases them (all exit at once); on the
//                               next byte: counts the processes left in the PID namespace and the
//                               zombies among them, "C others zombies\n"; exits at EOF.
//   idle                        pause() forever (dies of SIGTERM).
//   respawn PROG ARGS...        fork + exec PROG, waitpid, again, forever: the floor of
//                               scenario 6 (what no supervisor can beat).
//   crash SHM K DELAY_US        run k: starts[k] = now; if k >= K, idle; else after DELAY_US
//                               crashes[k] = now and _exit(1).
//   notify SHM PING_MS          a worker: start stamps, READY=1 to $NOTIFY_SOCKET (if set), then
//                               WATCHDOG=1 every PING_MS (0: never); on SIGTERM stamps its exit
//                               (last_exit, exit_count) and _exit(0).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "shm.h"

static struct bench_shm* shm;

static void write_all(int fd, const void* buf, size_t n) {
  const char* p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(112);
    }
    p += w;
    n -= (size_t)w;
  }
}

static int read_byte(void) {
  char c;
  for (;;) {
    ssize_t r = read(0, &c, 1);
    if (r == 1) return c;
    if (r == 0) return -1;
    if (errno != EINTR) return -1;
  }
}

static void on_usr1(int sig) {
  (void)sig;
  int64_t t = bench_now();
  int saved = errno;
  write_all(1, &t, sizeof t);
  errno = saved;
}

static void on_term(int sig) {
  (void)sig;
  int64_t t = bench_now();
  bench_atomic_max(&shm->last_exit, t);
  __atomic_fetch_add(&shm->exit_count, 1, __ATOMIC_SEQ_CST);
  _exit(0);
}

static int count_namespace(int* zombies) {
  // The workload runs in the agent's PID namespace with its /proc: every numeric entry is a
  // process of the namespace.
  DIR* d = opendir("/proc");
  if (d == NULL) return -1;
  int others = 0;
  *zombies = 0;
  const pid_t self = getpid();
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (pid == 1 || pid == self) continue;
    others++;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    char* rp = strrchr(buf, ')');
    if (rp != NULL && rp[1] == ' ' && rp[2] == 'Z') (*zombies)++;
  }
  closedir(d);
  return others;
}

static int send_notify(int fd, const struct sockaddr_un* addr, socklen_t len, const char* msg) {
  return sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr*)addr, len) < 0 ? -1 : 0;
}

int main(int argc, char** argv) {
  const int64_t t_start = bench_now();
  if (argc < 2) {
    fprintf(stderr, "usage: bench-workload MODE ...\n");
    return 2;
  }
  const char* mode = argv[1];

  if (strcmp(mode, "execstamp") == 0 && argc >= 4) {
    shm = bench_map(argv[2], 0);
    shm->t[0] = bench_now();
    execv(argv[3], argv + 3);
    perror(argv[3]);
    return 127;
  }

  if (strcmp(mode, "lifecycle") == 0 && argc == 3) {
    shm = bench_map(argv[2], 0);
    shm->t[1] = t_start;
    write_all(1, "R", 1);
    read_byte();
    shm->t[2] = bench_now();
    _exit(0);
  }

  if (strcmp(mode, "sigrecv") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    write_all(1, "R", 1);
    while (read_byte() >= 0) {
    }
    return 0;
  }

  if (strcmp(mode, "orphans") == 0 && argc == 4) {
    shm = bench_map(argv[2], 0);
    const long n = strtol(argv[3], NULL, 10);
    int barrier[2];
    if (pipe(barrier) != 0) return 113;
    const long per_parent = 100;
    for (long made = 0; made < n; made += per_parent) {
      pid_t mid = fork();
      if (mid < 0) {
        perror("fork");
        return 114;
      }
      if (mid == 0) {
        const long k = n - made < per_parent ? n - made : per_parent;
        for (long i = 0; i < k; i++) {
          pid_t g = fork();
          if (g < 0) _exit(115);
          if (g == 0) {
            close(barrier[1]);
            close(0);
            close(1);
            char c;
            while (read(barrier[0], &c, 1) < 0 && errno == EINTR) {
            }
            _exit(0);
          }
        }
        _exit(0);  // Its children become orphans: reparented to the agent.
      }
      int status;
      while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 116;
    }
    close(barrier[0]);
    write_all(1, "R", 1);
    if (read_byte() < 0) return 0;
    shm->t[2] = bench_now();
    close(barrier[1]);  // Every orphan reads EOF and exits.
    if (read_byte() < 0) return 0;
    int zombies = 0;
    const int others = count_namespace(&zombies);
    char line[64];
    const int len = snprintf(line, sizeof line, "C %d %d\n", others, zombies);
    write_all(1, line, (size_t)len);
    while (read_byte() >= 0) {
    }
    return 0;
  }

  if (strcmp(mode, "respawn") == 0 && argc >= 3) {
    // The floor for scenario 6: the least a supervisor can do, a waitpid + fork + exec loop.
    for (;;) {
      pid_t p = fork();
      if (p < 0) return 119;
      if (p == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
      }
      int status;
      while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  if (strcmp(mode, "idle") == 0) {
    for (;;)
      pause();
  }

  if (strcmp(mode, "crash") == 0 && argc == 5) {
    shm = bench_map(argv[2], 0);
    const uint64_t runs = strtoull(argv[3], NULL, 10);
    const long delay_us = strtol(argv[4], NULL, 10);
    const uint64_t k = __atomic_fetch_add(&shm->start_count, 1, __ATOMIC_SEQ_CST);
    if (k < BENCH_MAX_SAMPLES) shm->starts[k] = t_start;
    if (k >= runs) {
      for (;;)
        pause();
    }
    struct timespec d = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
    if (k < BENCH_MAX_SAMPLES) shm->crashes[k] = bench_now();
    _exit(1);
  }

  if (strcmp(mode, "notify") == 0 && argc == 4) {
    shm = bench_map(argv[2], 0);
    const long ping_ms = strtol(argv[3], NULL, 10);
    __atomic_fetch_add(&shm->start_count, 1, __ATOMIC_SEQ_CST);
    bench_atomic_min(&shm->first_start, t_start);
    bench_atomic_max(&shm->last_start, t_start);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    const char* sock = getenv("NOTIFY_SOCKET");
    if (sock == NULL || sock[0] == '\0') {
      for (;;)
        pause();
    }
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(sock);
    if (len >= sizeof addr.sun_path) return 117;
    memcpy(addr.sun_path, sock, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // Abstract namespace.
    const socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || send_notify(fd, &addr, alen, "READY=1") != 0) return 118;
    bench_atomic_max(&shm->last_ready, bench_now());
    __atomic_fetch_add(&shm->ready_count, 1, __ATOMIC_SEQ_CST);
    if (ping_ms <= 0) {
      for (;;)
        pause();
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
      next.tv_nsec += (ping_ms % 1000) * 1000000L;
      next.tv_sec += ping_ms / 1000 + next.tv_nsec / 1000000000L;
      next.tv_nsec %= 1000000000L;
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
      }
      if (send_notify(fd, &addr, alen, "WATCHDOG=1") == 0) {
        __atomic_fetch_add(&shm->ping_count, 1, __ATOMIC_RELAXED);
      }
    }
  }

  fprintf(stderr, "bench-workload: bad mode or arguments: %s\n", mode);
  return 2;
}
