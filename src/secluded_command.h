// rsync's secluded arguments (-s, --secluded-args, --protect-args): the client's command line
// holds only "rsync --server [--sender] -s<letters>" and the real options and paths follow on
// stdin (src/secluded_args.h reads them). These pure helpers turn the two parts back into the
// plain command that Decide judges like any other.
#ifndef RRSYNC_SECLUDED_COMMAND_H_
#define RRSYNC_SECLUDED_COMMAND_H_

#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// Whether `command` (SSH_ORIGINAL_COMMAND) is an rsync server command whose client sends its
// arguments on stdin: the first word after "rsync --server" (and "--sender") is a short option
// cluster whose letters, before any "e<capabilities>" blob, include s. That is where every rsync
// client since 3.0.0 puts it; an s anywhere else is left for Decide to refuse.
bool AsksForSecludedArgs(const std::string& command);

// Spells `word` so that SplitServerWords and RemoveBackslashes give it back unchanged: a
// backslash before each backslash and each whitespace character. A newline cannot be spelled
// (the split drops "\<newline>"); callers refuse such words first.
std::string EscapeServerWord(std::string_view word);

// Builds the plain command from `command` (for which AsksForSecludedArgs holds) and the words
// read from stdin (`secluded`, starting with the client's "rsync"): the visible words without
// the s, then the secluded words after "rsync", each escaped. Returns false with *err set when
// the two parts are not what an rsync client sends: a "." or file argument on the command line,
// a first secluded word other than "rsync", a word holding a newline, or non-ASCII words with an
// --iconv character set other than UTF-8 (rsync would convert them; rrsync passes them on
// as they are, so it accepts only the charset in which that is the same thing).
bool ComposeSecludedCommand(const std::string& command, const std::vector<std::string>& secluded,
                            std::string* composed, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_SECLUDED_COMMAND_H_
