/* The stand-in rsync of the time-to-exec benchmark (bench/exec_timer.c): like exit_at_once, but
 * first writes "stamp <CLOCK_MONOTONIC ns>" to stderr, the moment rsync would start its work, so
 * that the timer can tell the gatekeeper's part (until rsync runs) from what follows it (rsync's
 * exit and the gatekeeper's wait). The clock is the same inside rrsync's PID namespace.
 *
 * The option names make it look like rsync 3.5.0 to rrsync's feature detection. */
#include <time.h>
#include <unistd.h>

static const char kOptionNames[] __attribute__((used)) = "--\0drop-D\0confine-root\0";

int main(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  unsigned long long ns = (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
  char line[32] = "stamp ";
  char digits[21];
  int n = 0;
  do {
    digits[n++] = (char)('0' + ns % 10);
    ns /= 10;
  } while (ns != 0);
  int pos = 6;
  while (n > 0) line[pos++] = digits[--n];
  line[pos++] = '\n';
  return write(2, line, (size_t)pos) != pos || kOptionNames[0] != '-';
}
