// libFuzzer target over what a client's stdin reaches with -s: the secluded-args reader and the
// plain command it composes. Built and run by scripts/fuzz (clang, ASan, UBSan).
//
// Input layout:
//   byte 0   flags: bit 0 a pull (--sender), bit 1 "--iconv=latin1" on the command line,
//            bit 2 small limits (so that every bound is reached within -max_len)
//   STREAM   the bytes on stdin, as the client would send them
//
// Besides crashes, leaks and hangs, the target aborts when the reader or the composition breaks
// its contract: a read that consumed a byte past the final NUL or gave back other words than
// the stream holds, a refusal without its "secluded args: " prefix or on several lines, or a
// composed command whose words do not split back into the visible words and the secluded ones.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "secluded_args.h"
#include "secluded_command.h"
#include "server_command.h"
#include "unique_fd.h"

namespace rrsync {
namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "broken contract: %s\n", what);
  std::abort();
}

std::string Rest(int fd) {
  std::string rest;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) rest.append(buf, static_cast<size_t>(n));
  return rest;
}

}  // namespace
}  // namespace rrsync

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rrsync;
  if (size < 1 || size > 60000) return 0;  // the stream fits in a pipe: no writer thread
  const uint8_t flags = data[0];
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return 0;
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  Check(write(write_end.get(), stream.data(), stream.size()) ==
            static_cast<ssize_t>(stream.size()),
        "the pipe took the whole stream");
  write_end.Reset();

  SecludedArgsLimits limits;
  if (flags & 4) {
    limits.max_words = 8;
    limits.max_word_bytes = 16;
    limits.max_total_bytes = 64;
  }
  limits.timeout = std::chrono::seconds(5);  // the pipe is closed: never waited for
  std::vector<std::string> words;
  std::string err;
  bool ok = ReadSecludedArgs(read_end.get(), limits, &words, &err);
  std::string rest = Rest(read_end.get());
  if (!ok) {
    Check(err.starts_with("secluded args: "), "a refusal names secluded args");
    Check(err.find('\n') == std::string::npos, "a refusal is one line");
    return 0;
  }
  // What was consumed is exactly the words, each with its NUL, and the final NUL.
  std::string consumed;
  size_t total = 1;
  for (const std::string& w : words) {
    Check(!w.empty() && w.find('\0') == std::string::npos, "a word is non-empty, without NUL");
    Check(w.size() <= limits.max_word_bytes, "a word within its bound");
    consumed += w;
    consumed += '\0';
    total += w.size() + 1;
  }
  consumed += '\0';
  Check(words.size() <= limits.max_words, "the word count within its bound");
  Check(total <= limits.max_total_bytes, "the total within its bound");
  Check(stream.size() >= consumed.size() && stream.compare(0, consumed.size(), consumed) == 0,
        "the words are the stream's first bytes");
  Check(rest == stream.substr(consumed.size()), "nothing past the final NUL was read");

  std::string visible = std::string("rsync --server ") + ((flags & 1) ? "--sender " : "") +
                        "-slogDtpre.iLsfxCIvu" + ((flags & 2) ? " --iconv=latin1" : "");
  std::string composed;
  if (!ComposeSecludedCommand(visible, words, &composed, &err)) {
    Check(err.starts_with("secluded args: "), "a composition refusal names secluded args");
    return 0;
  }
  const std::string prefix = "rsync --server ";
  Check(composed.starts_with(prefix), "the composed command is an rsync server command");
  Check(((flags & 1) != 0) == composed.starts_with(prefix + "--sender "),
        "the direction is the command line's");
  std::vector<std::string> split = SplitServerWords(std::string_view(composed).substr(prefix.size()));
  size_t visible_count = 1 + ((flags & 1) ? 1 : 0) + ((flags & 2) ? 1 : 0);
  Check(split.size() == visible_count + words.size() - 1, "one word per secluded word");
  Check(split[(flags & 1) ? 1 : 0] == "-logDtpre.iLsfxCIvu", "the -s is gone");
  for (size_t i = 1; i < words.size(); ++i)
    Check(RemoveBackslashes(split[visible_count + i - 1]) == words[i],
          "each secluded word splits back unchanged");
  return 0;
}
