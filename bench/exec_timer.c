/* Times how long each gatekeeper takes to exec rsync: from just before it is spawned to the
 * moment the stand-in (bench/exec_stamp.c) starts and stamps the clock on its stderr; and the
 * whole process, until the gatekeeper has been waited for. The contenders run round-robin, one
 * run of each in turn, so that a change in the machine's load falls on all of them alike.
 *
 * Usage: exec_timer [--runs N] [--warmup N] NAME COMMAND [NAME COMMAND ...]
 * COMMAND is split at spaces (no quoting). The environment (SSH_ORIGINAL_COMMAND) is passed on.
 * Prints per contender: median time to exec, median whole process, and the first contender's
 * median over this one's (the first is the reference: upstream). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

enum { kMaxContenders = 16, kMaxWords = 32 };

struct Contender {
  const char* name;
  char* argv[kMaxWords + 1];
  double* exec_ms;
  double* total_ms;
};

static double NowMs(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* One run: returns 0 and fills the two times, or -1 when no stamp arrived. */
static int RunOnce(struct Contender* c, double* exec_ms, double* total_ms) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  double start = NowMs();
  pid_t pid;
  int spawned = posix_spawn(&pid, c->argv[0], &actions, NULL, c->argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return -1;
  }
  char text[4096];
  size_t used = 0;
  ssize_t got;
  while (used < sizeof text - 1 && (got = read(fds[0], text + used, sizeof text - 1 - used)) > 0)
    used += (size_t)got;
  text[used] = '\0';
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  double end = NowMs();
  const char* stamp = strstr(text, "stamp ");
  if (stamp == NULL) {
    fprintf(stderr, "exec_timer: %s printed no stamp: %s\n", c->name, text);
    return -1;
  }
  double stamp_ms = (double)strtoull(stamp + 6, NULL, 10) / 1e6;
  *exec_ms = stamp_ms - start;
  *total_ms = end - start;
  return 0;
}

static int CompareDoubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double Median(double* values, int n) {
  qsort(values, (size_t)n, sizeof *values, CompareDoubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int main(int argc, char** argv) {
  int runs = 300, warmup = 20, count = 0;
  struct Contender contenders[kMaxContenders];
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) {
      warmup = atoi(argv[++i]);
    } else if (i + 1 < argc && count < kMaxContenders) {
      struct Contender* c = &contenders[count++];
      c->name = argv[i];
      int words = 0;
      for (char* word = strtok(argv[++i], " "); word != NULL && words < kMaxWords;
           word = strtok(NULL, " "))
        c->argv[words++] = word;
      c->argv[words] = NULL;
    } else {
      fprintf(stderr, "usage: exec_timer [--runs N] [--warmup N] NAME COMMAND ...\n");
      return 2;
    }
  }
  if (count == 0 || runs < 1) return 2;
  for (int k = 0; k < count; ++k) {
    contenders[k].exec_ms = calloc((size_t)runs, sizeof(double));
    contenders[k].total_ms = calloc((size_t)runs, sizeof(double));
  }
  for (int r = -warmup; r < runs; ++r) {
    for (int k = 0; k < count; ++k) {
      double exec_ms, total_ms;
      if (RunOnce(&contenders[k], &exec_ms, &total_ms) != 0) return 1;
      if (r >= 0) {
        contenders[k].exec_ms[r] = exec_ms;
        contenders[k].total_ms[r] = total_ms;
      }
    }
  }
  double ref_exec = 0, ref_total = 0;
  printf("  %-22s %14s %14s %12s %12s\n", "contender", "time to exec", "whole process",
         "ref/this exec", "ref/this whole");
  for (int k = 0; k < count; ++k) {
    double exec_ms = Median(contenders[k].exec_ms, runs);
    double total_ms = Median(contenders[k].total_ms, runs);
    if (k == 0) ref_exec = exec_ms, ref_total = total_ms;
    printf("  %-22s %12.2fms %12.2fms %12.1fx %12.1fx\n", contenders[k].name, exec_ms, total_ms,
           ref_exec / exec_ms, ref_total / total_ms);
  }
  return 0;
}
