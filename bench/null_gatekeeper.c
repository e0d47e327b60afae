/* The least a gatekeeper that waits for rsync can do, as a floor for the time-to-exec benchmark
 * (bench/exec_timer.c): start PROGRAM with posix_spawn (glibc's is clone(CLONE_VM|CLONE_VFORK),
 * as rrsync's), wait for it and exit with its status. No decision, no sandbox, no log. Linked
 * against libc like rrsync, so its start-up costs what rrsync's own does before any work.
 *
 * Usage: null_gatekeeper PROGRAM [ARGS...] */
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  pid_t pid;
  if (posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0) return 127;
  int status;
  if (waitpid(pid, &status, 0) != pid) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
