#include "secluded_args.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rrsync {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` has a byte (or end of file) to read, up to `deadline`. Returns how many bytes
// can be read without blocking (at least 1), 0 on timeout, -1 with *err set on error.
long WaitReadable(int fd, Clock::time_point deadline, std::string* err) {
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, left.count() > 1000000 ? 1000000 : static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      *err = std::string("secluded args: unable to wait for them: ") + strerror(errno);
      return -1;
    }
    if (ready == 0) continue;  // the loop's deadline check decides
    if (p.revents & POLLNVAL) {
      *err = "secluded args: stdin is not open";
      return -1;
    }
    // What is already buffered can be read byte by byte without polling again; after a hang-up
    // or an error the next read reports it.
    int available = 0;
    if ((p.revents & POLLIN) && ioctl(fd, FIONREAD, &available) == 0 && available > 0)
      return available;
    return 1;
  }
}

// "60 s", or "250 ms" for what is not a whole number of seconds.
std::string DurationText(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

bool ReadSecludedArgs(int fd, const SecludedArgsLimits& limits, std::vector<std::string>* words,
                      std::string* err) {
  words->clear();
  const Clock::time_point deadline = Clock::now() + limits.timeout;
  std::string word;
  size_t total = 0;
  long buffered = 0;  // bytes known to be readable without blocking
  while (true) {
    if (buffered == 0) {
      buffered = WaitReadable(fd, deadline, err);
      if (buffered < 0) return false;
      if (buffered == 0) {
        *err = "secluded args: the client did not send them within " +
               DurationText(limits.timeout);
        return false;
      }
    }
    // One byte at a time: the byte after the final NUL belongs to rsync's protocol, and
    // neither a pipe nor a socket can give back what was read too far.
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        buffered = 0;
        continue;
      }
      *err = std::string("secluded args: unable to read them: ") + strerror(errno);
      return false;
    }
    if (n == 0) {
      *err = "secluded args: the client closed the connection before their end";
      return false;
    }
    --buffered;
    if (++total > limits.max_total_bytes) {
      *err = "secluded args: more than " + std::to_string(limits.max_total_bytes) + " bytes";
      return false;
    }
    if (c != '\0') {
      if (word.size() >= limits.max_word_bytes) {
        *err = "secluded args: one is longer than " + std::to_string(limits.max_word_bytes) +
               " bytes";
        return false;
      }
      word += c;
      continue;
    }
    if (word.empty()) return true;
    if (words->size() >= limits.max_words) {
      *err = "secluded args: more than " + std::to_string(limits.max_words) + " of them";
      return false;
    }
    words->push_back(std::move(word));
    word.clear();
  }
}

}  // namespace rrsync
