// Making untrusted text (client commands, file names) safe to print or log on one line.
#ifndef RRSYNC_ESCAPE_H_
#define RRSYNC_ESCAPE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace rrsync {

// The longest escaped text EscapeUntrusted returns by default, in bytes, before its "..." marker.
inline constexpr size_t kMaxPrintedBytes = 2048;

// Returns `text` with control characters, invalid UTF-8, C1 controls and bidi overrides written
// as \xNN or \uNNNN, so that it can neither break a line nor restyle a terminal, cut to
// `max_bytes` with a trailing "...". Backslashes are kept as they are.
std::string EscapeUntrusted(std::string_view text, size_t max_bytes = kMaxPrintedBytes);

// Like EscapeUntrusted, but a text longer than `max_bytes` keeps its beginning and its end, with
// "..." between: in a message the reason comes last ("... File name too long").
std::string EscapeAndShorten(std::string_view text, size_t max_bytes = kMaxPrintedBytes);

// Returns `text` spelled as Python's repr() spells a str decoded from these bytes with
// surrogateescape: upstream rrsync prints some values that way, and messages must match it.
std::string PythonRepr(std::string_view text);

// Decodes one UTF-8 sequence at text[pos]. Returns the code point and sets *length; an invalid
// byte decodes as U+DC80 + byte with length 1 (Python's surrogateescape).
char32_t DecodeUtf8(std::string_view text, size_t pos, size_t* length);

}  // namespace rrsync

#endif  // RRSYNC_ESCAPE_H_
