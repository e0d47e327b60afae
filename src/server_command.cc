#include "server_command.h"

#include <array>

#include "escape.h"

namespace rrsync {

namespace {

// Python's str.split() whitespace, which upstream's split() of the command uses.
constexpr bool PythonWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// An ASCII character that is neither whitespace nor a backslash: one byte, kept as it is.
// A table, not comparisons: this runs once per byte of every command, and each comparison is a
// callback in the fuzzer's coverage build (docs/PERFORMANCE.md, "Fuzzing speed").
constexpr std::array<bool, 256> kPlainAscii = [] {
  std::array<bool, 256> table{};
  for (unsigned u = 0; u < 0x80; ++u)
    table[u] = u != '\\' && !PythonWhitespace(u);
  return table;
}();

bool IsPlainAscii(char c) { return kPlainAscii[static_cast<unsigned char>(c)]; }

}  // namespace

bool IsPythonWhitespace(char32_t cp) { return PythonWhitespace(cp); }

std::vector<std::string> SplitServerWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t pos = 0;
  while (pos < text.size()) {
    // A run of ASCII that is neither whitespace nor a backslash is taken whole: most of a
    // command is plain file names.
    size_t run = pos;
    while (run < text.size() && IsPlainAscii(text[run])) ++run;
    if (run > pos) {
      word.append(text, pos, run - pos);
      in_word = true;
      pos = run;
      continue;
    }
    size_t length;
    char32_t cp = DecodeUtf8(text, pos, &length);
    if (cp == '\\') {
      // An escape takes the next character whatever it is, except a newline (which a Python
      // "." does not match); an escape that cannot take one is skipped.
      if (pos + 1 < text.size() && text[pos + 1] != '\n') {
        size_t next_length;
        DecodeUtf8(text, pos + 1, &next_length);
        word.append(text, pos, 1 + next_length);
        in_word = true;
        pos += 1 + next_length;
        continue;
      }
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      pos += 1;
      continue;
    }
    if (IsPythonWhitespace(cp)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word.append(text, pos, length);
      in_word = true;
    }
    pos += length;
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string RemoveBackslashes(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    if (word[i] == '\\' && i + 1 < word.size() && word[i + 1] != '\n') ++i;
    out += word[i];
  }
  return out;
}

}  // namespace rrsync
