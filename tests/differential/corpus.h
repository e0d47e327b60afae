// Reading the differential test's data files: the captured client corpus, the hand-written hostile
// commands and the allow-list of deliberate differences (formats described in each file's header
// and in tests/differential/capture_corpus.sh).
#ifndef RRSYNC_TESTS_DIFFERENTIAL_CORPUS_H_
#define RRSYNC_TESTS_DIFFERENTIAL_CORPUS_H_

#include <regex>
#include <string>
#include <vector>

namespace rrsync {
namespace differential {

// One SSH_ORIGINAL_COMMAND and the comment right above it (the client command line that produced
// it, or what a hostile command attacks).
struct CorpusCommand {
  std::string command;  // decoded: an `@esc ` line is already unescaped here
  std::string comment;  // empty when no '#' line precedes the command
  std::string source;   // "file:line", for messages
};

// Undoes the `@esc ` encoding: "\\" -> '\', "\n" -> LF, "\r" -> CR, "\t" -> TAB, "\xHH" -> byte.
// Any other escape is an error, so a typo in a data file cannot silently change a command.
bool DecodeEscapes(const std::string& text, std::string* out, std::string* err);

// Reads a command file. Blank lines and '#' lines are skipped (the last '#' line is kept as the
// next command's comment). With `require_comment`, a command without a comment line directly above
// it is an error: every hostile command must say what it attacks.
bool LoadCommands(const std::string& path, bool require_comment, std::vector<CorpusCommand>* out,
                  std::string* err);

// A deliberate difference the lead confirmed. A mismatch is excused when its command matches
// `command` (the whole command, ECMAScript regex), its row label matches `rows` and the aspect that
// differs is `aspect` (or aspect is "any").
struct KnownDifference {
  std::string reason;
  std::string command_text;
  std::regex command;
  std::string rows_text;
  std::regex rows;
  std::string aspect;
  std::string source;
};

// Reads the allow-list: blocks of `reason:`, `command:`, optional `rows:` (default ".*") and
// optional `aspect:` (default "any") lines, separated by blank lines; '#' lines are comments. A
// block without a reason or a command, or with a bad regex, is an error.
bool LoadKnownDifferences(const std::string& path, std::vector<KnownDifference>* out,
                          std::string* err);

}  // namespace differential
}  // namespace rrsync

#endif  // RRSYNC_TESTS_DIFFERENTIAL_CORPUS_H_
