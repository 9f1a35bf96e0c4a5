// Shared memory between the benchmark harness and its workloads: a file on tmpfs (/dev/shm)
// mapped by both, so that a workload can record CLOCK_MONOTONIC stamps with a plain store (no
// syscall, no pipe write inside the measured interval). Every agent passes argv through, so the
// file's path travels as an argument.
#ifndef VIGIL_BENCH_SHM_H_
#define VIGIL_BENCH_SHM_H_

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_SAMPLES 16384

struct bench_shm {
  int64_t t[16];  // single stamps: [0] exec of the agent, [1] workload start, [2] exit/release
  uint64_t start_count;                // workers started (atomic)
  uint64_t ready_count;                // workers that sent READY=1 (atomic)
  uint64_t exit_count;                 // workers that exited on SIGTERM (atomic)
  int64_t first_start;                 // earliest worker start (atomic min; 0 = none)
  int64_t last_start;                  // latest worker start (atomic max)
  int64_t last_ready;                  // latest READY=1 sent (atomic max)
  int64_t last_exit;                   // latest worker exit (atomic max)
  uint64_t ping_count;                 // WATCHDOG=1 sent by notify workers (atomic)
  int64_t starts[BENCH_MAX_SAMPLES];   // crash mode: start of run k
  int64_t crashes[BENCH_MAX_SAMPLES];  // crash mode: exit of run k
};

static inline int64_t bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline struct bench_shm* bench_map(const char* path, int create) {
  int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
  if (fd < 0) {
    perror(path);
    exit(111);
  }
  if (create && ftruncate(fd, sizeof(struct bench_shm)) != 0) {
    perror("ftruncate");
    exit(111);
  }
  void* p = mmap(NULL, sizeof(struct bench_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(111);
  }
  close(fd);
  return (struct bench_shm*)p;
}

static inline void bench_atomic_max(int64_t* where, int64_t v) {
  int64_t cur = __atomic_load_n(where, __ATOMIC_RELAXED);
  while (cur < v &&
         !__atomic_compare_exchange_n(where, &cur, v, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
}

static inline void bench_atomic_min(int64_t* where, int64_t v) {
  int64_t cur = __atomic_load_n(where, __ATOMIC_RELAXED);
  while ((cur == 0 || cur > v) &&
         !__atomic_compare_exchange_n(where, &cur, v, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
}

#endif  // VIGIL_BENCH_SHM_H_
