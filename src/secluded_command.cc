#include "secluded_command.h"

#include "escape.h"
#include "server_command.h"

namespace rrsync {

namespace {

constexpr std::string_view kServerPrefix = "rsync --server ";

// The words after "rsync --server", and the index of the one that must be the option cluster:
// after "--sender" only when Decide will see a pull ("--sender " with a space, as it checks).
struct VisibleWords {
  std::vector<std::string> words;
  size_t cluster = 0;
  bool sender = false;
};

bool SplitVisible(const std::string& command, VisibleWords* visible) {
  if (!command.starts_with(kServerPrefix)) return false;
  std::string_view rest = std::string_view(command).substr(kServerPrefix.size());
  visible->sender = rest.starts_with("--sender ");
  visible->words = SplitServerWords(rest);
  visible->cluster = visible->sender ? 1 : 0;
  return visible->cluster < visible->words.size();
}

// The end of a cluster's letters: the capability blob starts at its first 'e'.
size_t LettersEnd(const std::string& word) {
  size_t e = word.find('e', 1);
  return e == std::string::npos ? word.size() : e;
}

bool IsShortCluster(const std::string& word) {
  return word.size() >= 2 && word[0] == '-' && word[1] != '-';
}

bool IsUtf8Name(std::string name) {
  for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return name == "utf8" || name == "utf-8";
}

bool IsAscii(const std::string& word) {
  for (char c : word)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

bool AsksForSecludedArgs(const std::string& command) {
  VisibleWords visible;
  if (!SplitVisible(command, &visible)) return false;
  const std::string& cluster = visible.words[visible.cluster];
  if (!IsShortCluster(cluster)) return false;
  return cluster.substr(1, LettersEnd(cluster) - 1).find('s') != std::string::npos;
}

std::string EscapeServerWord(std::string_view word) {
  std::string out;
  out.reserve(word.size() + 8);
  size_t pos = 0;
  while (pos < word.size()) {
    size_t length;
    char32_t cp = DecodeUtf8(word, pos, &length);
    if (cp == '\\' || IsPythonWhitespace(cp)) out += '\\';
    out.append(word, pos, length);
    pos += length;
  }
  return out;
}

bool ComposeSecludedCommand(const std::string& command, const std::vector<std::string>& secluded,
                            std::string* composed, std::string* err) {
  VisibleWords visible;
  if (!SplitVisible(command, &visible)) {
    *err = "secluded args: the command is not an rsync server command";
    return false;
  }
  std::string charset;  // the --iconv character set rsync would convert the words to
  std::string out(kServerPrefix.substr(0, kServerPrefix.size() - 1));
  for (size_t i = 0; i < visible.words.size(); ++i) {
    std::string word = visible.words[i];
    // rsync's client puts "." and every path on stdin; one here would be a second list that
    // a stock rsync ignores, so nothing in this session would mean what it says.
    if (word == ".") {
      *err = "secluded args: the command line holds a \".\" (with -s, the arguments come on stdin)";
      return false;
    }
    if (i == visible.cluster) {
      // -s itself: rsync must not read its arguments again (they are on its command line now).
      std::string letters;
      size_t end = LettersEnd(word);
      for (size_t j = 1; j < end; ++j)
        if (word[j] != 's') letters += word[j];
      word = letters.empty() && end == word.size() ? std::string()
                                                   : "-" + letters + word.substr(end);
      if (word.empty()) continue;
    }
    if (word.starts_with("--iconv=")) charset = RemoveBackslashes(word.substr(8));
    out += ' ';
    out += word;
  }
  if (secluded.empty() || secluded[0] != "rsync") {
    *err = "secluded args: the first one is not \"rsync\"";
    return false;
  }
  for (size_t i = 1; i < secluded.size(); ++i) {
    const std::string& word = secluded[i];
    if (word.find('\n') != std::string::npos) {
      *err = "secluded args: an argument holds a newline: " + word;
      return false;
    }
    // Without -s, rsync takes its command line as it is: the conversion to the server's
    // character set that rsync does for secluded words would not happen.
    if (!charset.empty() && !IsUtf8Name(charset) && !IsAscii(word)) {
      *err = "secluded args: --iconv=" + charset +
             " with non-ASCII arguments (rrsync passes them on as UTF-8; use a UTF-8 server "
             "charset or no -s)";
      return false;
    }
    out += ' ';
    out += EscapeServerWord(word);
  }
  *composed = std::move(out);
  return true;
}

}  // namespace rrsync
