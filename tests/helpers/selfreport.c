// selfreport: prints what a process started by Vigil inherited, as one line of key=value pairs.
//
//   selfreport [-p]
//
// Output: "pid=P ppid=P pgid=G sid=S tpgid=T sigblk=HEX sigign=HEX fds=0,1,2\n" where tpgid is
// tcgetpgrp(0) (-1 when stdin is no terminal), sigblk and sigign are the SigBlk and SigIgn lines
// of /proc/self/status and fds lists the open descriptors (not counting the one used to list).
// With -p it then waits in pause() until a signal's default action ends it.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void StatusField(const char* name, char* out, size_t size) {
  snprintf(out, size, "?");
  FILE* f = fopen("/proc/self/status", "re");
  if (f == NULL) return;
  char line[256];
  size_t len = strlen(name);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      const char* value = line + len + 1;
      while (*value == ' ' || *value == '\t') ++value;
      snprintf(out, size, "%.*s", (int)strcspn(value, "\n"), value);
      break;
    }
  }
  fclose(f);
}

static int CompareInts(const void* a, const void* b) {
  return *(const int*)a - *(const int*)b;
}

static void OpenFds(char* out, size_t size) {
  int fds[1024];
  int count = 0;
  out[0] = '\0';
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) {
    snprintf(out, size, "?");
    return;
  }
  struct dirent* d;
  while ((d = readdir(dir)) != NULL && count < 1024) {
    if (d->d_name[0] == '.') continue;
    int fd = atoi(d->d_name);
    if (fd != dirfd(dir)) fds[count++] = fd;
  }
  closedir(dir);
  qsort(fds, (size_t)count, sizeof fds[0], CompareInts);
  size_t used = 0;
  for (int i = 0; i < count && used < size; ++i) {
    used += (size_t)snprintf(out + used, size - used, i ? ",%d" : "%d", fds[i]);
  }
}

int main(int argc, char** argv) {
  int pause_after = argc > 1 && strcmp(argv[1], "-p") == 0;
  // Everything is measured before stdio opens a descriptor of its own.
  char sigblk[64], sigign[64], fds[4096];
  StatusField("SigBlk", sigblk, sizeof sigblk);
  StatusField("SigIgn", sigign, sizeof sigign);
  OpenFds(fds, sizeof fds);
  printf("pid=%d ppid=%d pgid=%d sid=%d tpgid=%d sigblk=%s sigign=%s fds=%s\n", (int)getpid(),
         (int)getppid(), (int)getpgrp(), (int)getsid(0), (int)tcgetpgrp(0), sigblk, sigign, fds);
  fflush(stdout);
  if (pause_after) {
    for (;;) pause();
  }
  return 0;
}
