// Reading rsync's secluded arguments (-s) from the client: after "rsync --server ... -s...", the
// client writes "rsync", its options, "." and its paths on stdin, each ended by a NUL, then one
// more NUL (an empty word: the client sends "." for an empty argument), and then the protocol
// starts. rrsync reads them, checks them like a plain command and runs rsync without -s on the
// same stdin, so the reader must leave every byte after that last NUL where it is.
#ifndef RRSYNC_SECLUDED_ARGS_H_
#define RRSYNC_SECLUDED_ARGS_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace rrsync {

// Bounds on what a client may send. A stock rsync client sends fewer than 1000 words (its
// MAX_ARGS, which also counts the ssh command), and a stock rsync server cuts each word at 4095
// bytes (MAXPATHLEN - 1) and sends them the moment ssh is up; these leave room for all of that
// and stop a client that streams words forever, huge words, or nothing at all.
struct SecludedArgsLimits {
  size_t max_words = 4096;           // words, the client's "rsync" included
  size_t max_word_bytes = 4095;      // per word, without its NUL
  size_t max_total_bytes = 1 << 20;  // all words with their NULs, the final NUL included
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // for the whole list
};

// Reads the words from `fd` (a pipe, socket, tty or file; blocking or not) up to and including
// the empty word that ends them, and never a byte further: it reads one byte at a time. Fills
// *words (without the final empty word) and returns true; returns false with a one-line *err on
// end of file, a read error, a bound exceeded or the timeout.
bool ReadSecludedArgs(int fd, const SecludedArgsLimits& limits, std::vector<std::string>* words,
                      std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_SECLUDED_ARGS_H_
