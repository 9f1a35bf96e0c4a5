// bench-harness: the harness side of the timing scenarios, in C so that its own overhead is
// small and the same for every agent. One trial per invocation; one JSON object on stdout.
//
//   bench-harness lifecycle SHM -- ARGV...        scenarios 1 and 2
//   bench-harness signals SHM COUNT -- ARGV...    scenario 3
//   bench-harness orphans SHM -- ARGV...          scenario 4
//
// ARGV is the whole command (`unshare --pid --fork --mount-proc bench-workload execstamp SHM
// AGENT ... -- bench-workload MODE ...`); its stdin and stdout are pipes to the harness. The
// agent is found as the only child of unshare; the harness signals it from outside its PID
// namespace and sees its exit through a pidfd (readable the moment the agent has exited, after
// the kernel has torn its namespace down).
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "shm.h"

static pid_t launcher;  // unshare
static int to_child = -1, from_child = -1;

static void die(const char* what) {
  fprintf(stderr, "bench-harness: %s: %s\n", what, strerror(errno));
  if (launcher > 0) kill(launcher, SIGKILL);
  exit(1);
}

static void launch(char** argv) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) die("pipe");
  launcher = fork();
  if (launcher < 0) die("fork");
  if (launcher == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  to_child = in[1];
  from_child = out[0];
}

static void read_exact(void* buf, size_t n) {
  char* p = buf;
  while (n > 0) {
    ssize_t r = read(from_child, p, n);
    if (r == 0) {
      errno = EPIPE;
      die("workload closed its stdout");
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    p += r;
    n -= (size_t)r;
  }
}

static void expect_ready(void) {
  char c;
  read_exact(&c, 1);
  if (c != 'R') {
    errno = EPROTO;
    die("workload did not say R");
  }
}

static void send_byte(void) {
  if (write(to_child, "g", 1) != 1) die("write");
}

// The first pid listed in /proc/PID/task/PID/children ("" when none); returns how many bytes
// were read, so a caller can tell "exactly one child" from "more".
static ssize_t read_children(pid_t pid, char* buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

static pid_t first_child(pid_t pid) {
  char buf[64];
  for (int i = 0; i < 10000; i++) {
    if (read_children(pid, buf, sizeof buf) > 0) return (pid_t)strtol(buf, NULL, 10);
    usleep(100);
  }
  errno = ESRCH;
  die("no child of the launcher");
  return -1;
}

static int64_t cpu_ns(pid_t pid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  return strtoll(buf, NULL, 10);
}

static int finish(void) {
  close(to_child);
  int status = 0;
  while (waitpid(launcher, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmp64(const void* a, const void* b) {
  int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return x < y ? -1 : x > y;
}

// How long a freshly forked child waits before it runs: on the parent's CPU, and free to run on
// any (where the scheduler may pick an idle CPU that takes long to wake up, as vCPUs do).
static int calibrate(const char* shm_path) {
  struct bench_shm* shm = bench_map(shm_path, 1);
  cpu_set_t all, one;
  sched_getaffinity(0, sizeof all, &all);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  double med[2];
  for (int pass = 0; pass < 2; pass++) {
    sched_setaffinity(0, sizeof(cpu_set_t), pass == 0 ? &one : &all);
    int64_t xs[41];
    for (int i = 0; i < 41; i++) {
      shm->t[0] = 0;
      const int64_t t0 = bench_now();
      pid_t p = fork();
      if (p == 0) {
        shm->t[0] = bench_now();
        _exit(0);
      }
      int status;
      waitpid(p, &status, 0);
      xs[i] = shm->t[0] - t0;
      usleep(2000);
    }
    qsort(xs, 41, sizeof xs[0], cmp64);
    med[pass] = xs[20] / 1000.0;
  }
  printf("{\"same_cpu\": %.1f, \"any_cpu\": %.1f}\n", med[0], med[1]);
  return 0;
}

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1UL);
  signal(SIGPIPE, SIG_IGN);
  if (argc == 3 && strcmp(argv[1], "calibrate") == 0) return calibrate(argv[2]);
  if (argc < 4) {
    fprintf(stderr,
            "usage: bench-harness lifecycle|signals|orphans SHM [COUNT] -- ARGV...\n"
            "       bench-harness calibrate SHM\n");
    return 2;
  }
  const char* mode = argv[1];
  const char* shm_path = argv[2];
  int argi = 3;
  long count = 0;
  if (strcmp(mode, "signals") == 0) count = strtol(argv[argi++], NULL, 10);
  if (argi >= argc || strcmp(argv[argi], "--") != 0) {
    fprintf(stderr, "bench-harness: expected -- ARGV\n");
    return 2;
  }
  struct bench_shm* shm = bench_map(shm_path, 1);
  launch(argv + argi + 1);

  if (strcmp(mode, "lifecycle") == 0) {
    expect_ready();
    const pid_t agent = first_child(launcher);
    const int pidfd = (int)syscall(SYS_pidfd_open, agent, 0);
    if (pidfd < 0) die("pidfd_open");
    send_byte();
    struct pollfd p = {pidfd, POLLIN, 0};
    while (poll(&p, 1, 10000) < 0 && errno == EINTR) {
    }
    const int64_t t_exit = bench_now();
    const int rc = finish();
    printf("{\"startup_ns\": %lld, \"exit_ns\": %lld, \"rc\": %d}\n",
           (long long)(shm->t[1] - shm->t[0]), (long long)(t_exit - shm->t[2]), rc);
    return 0;
  }

  if (strcmp(mode, "signals") == 0) {
    expect_ready();
    const pid_t agent = first_child(launcher);
    int64_t* lat = calloc((size_t)count, sizeof *lat);
    const int64_t cpu0 = cpu_ns(agent);
    for (long i = 0; i < count; i++) {
      int64_t t1;
      const int64_t t0 = bench_now();
      if (kill(agent, SIGUSR1) != 0) die("kill");
      read_exact(&t1, sizeof t1);
      lat[i] = t1 - t0;
    }
    const int64_t cpu1 = cpu_ns(agent);
    const int rc = finish();
    qsort(lat, (size_t)count, sizeof *lat, cmp64);
    printf("{\"rc\": %d, \"agent_cpu_ns\": %lld, \"lat_ns\": [", rc, (long long)(cpu1 - cpu0));
    for (long i = 0; i < count; i++)
      printf("%s%lld", i ? "," : "", (long long)lat[i]);
    printf("]}\n");
    return 0;
  }

  if (strcmp(mode, "orphans") == 0) {
    expect_ready();
    const pid_t agent = first_child(launcher);
    char buf[64];
    if (read_children(agent, buf, sizeof buf) <= 0) die("children");
    const pid_t main_pid = (pid_t)strtol(buf, NULL, 10);
    char only[32];
    const int only_len = snprintf(only, sizeof only, "%d ", main_pid);
    const int64_t cpu0 = cpu_ns(agent);
    send_byte();
    // Done when the agent's only child left is the workload's main process: every orphan has
    // been reaped (a zombie stays in its parent's children list until it is reaped).
    const struct timespec nap = {0, 20000};
    int64_t t_done = 0;
    const int64_t give_up = bench_now() + 60LL * 1000000000LL;
    for (;;) {
      const ssize_t n = read_children(agent, buf, sizeof buf);
      if (n == only_len && memcmp(buf, only, (size_t)only_len) == 0) {
        t_done = bench_now();
        break;
      }
      if (bench_now() > give_up) break;
      nanosleep(&nap, NULL);
    }
    const int64_t cpu1 = cpu_ns(agent);
    send_byte();
    char line[64] = {0};
    size_t len = 0;
    while (len < sizeof line - 1) {
      read_exact(line + len, 1);
      if (line[len++] == '\n') break;
    }
    int others = -1, zombies = -1;
    sscanf(line, "C %d %d", &others, &zombies);
    const int rc = finish();
    printf(
        "{\"reap_ns\": %lld, \"others_left\": %d, \"zombies_left\": %d, "
        "\"agent_cpu_ns\": %lld, \"rc\": %d}\n",
        t_done ? (long long)(t_done - shm->t[2]) : -1LL, others, zombies, (long long)(cpu1 - cpu0),
        rc);
    return 0;
  }
  fprintf(stderr, "bench-harness: unknown mode %s\n", mode);
  return 2;
}
