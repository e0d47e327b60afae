// The words of the rsync server command a client sends over ssh (SSH_ORIGINAL_COMMAND).
#ifndef RRSYNC_SERVER_COMMAND_H_
#define RRSYNC_SERVER_COMMAND_H_

#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// Splits the options-and-arguments part of the command into words the way rsync's client escapes
// them for a remote shell: unescaped whitespace (Unicode whitespace, as upstream's Python regex
// sees it) separates words, and a backslash keeps the character after it (so "a\ b" is one
// word). Backslashes stay in the words. A backslash with nothing after it is dropped.
std::vector<std::string> SplitServerWords(std::string_view text);

// Removes one level of backslash escaping: "\x" becomes "x"; a final lone backslash stays.
std::string RemoveBackslashes(std::string_view word);

// Whether the code point is whitespace to Python's str.isspace() (and so to upstream's \s).
bool IsPythonWhitespace(char32_t cp);

}  // namespace rrsync

#endif  // RRSYNC_SERVER_COMMAND_H_
