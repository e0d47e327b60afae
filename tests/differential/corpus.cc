#include "corpus.h"

#include <fstream>
#include <sstream>

namespace rrsync {
namespace differential {

namespace {

constexpr char kEscapedPrefix[] = "@esc ";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ReadLines(const std::string& path, std::vector<std::string>* lines, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = "cannot read " + path;
    return false;
  }
  std::string line;
  while (std::getline(in, line)) lines->push_back(line);
  return true;
}

}  // namespace

bool DecodeEscapes(const std::string& text, std::string* out, std::string* err) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 1 >= text.size()) {
      *err = "trailing backslash";
      return false;
    }
    char c = text[++i];
    switch (c) {
      case '\\': out->push_back('\\'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'x': {
        int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
        int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *err = "bad \\x escape";
          return false;
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        *err = std::string("unknown escape \\") + c;
        return false;
    }
  }
  return true;
}

bool LoadCommands(const std::string& path, bool require_comment, std::vector<CorpusCommand>* out,
                  std::string* err) {
  std::vector<std::string> lines;
  if (!ReadLines(path, &lines, err)) return false;
  std::string comment;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::string where = path + ":" + std::to_string(i + 1);
    if (line.empty()) {
      comment.clear();
      continue;
    }
    if (line[0] == '#') {
      comment = line.size() > 1 && line[1] == ' ' ? line.substr(2) : line.substr(1);
      continue;
    }
    CorpusCommand cmd;
    if (line.rfind(kEscapedPrefix, 0) == 0) {
      std::string why;
      if (!DecodeEscapes(line.substr(sizeof(kEscapedPrefix) - 1), &cmd.command, &why)) {
        *err = where + ": " + why;
        return false;
      }
    } else {
      cmd.command = line;
    }
    if (require_comment && comment.empty()) {
      *err = where + ": command without a comment line above it saying what it attacks";
      return false;
    }
    cmd.comment = comment;
    cmd.source = where;
    out->push_back(std::move(cmd));
    comment.clear();
  }
  return true;
}

bool LoadKnownDifferences(const std::string& path, std::vector<KnownDifference>* out,
                          std::string* err) {
  std::vector<std::string> lines;
  if (!ReadLines(path, &lines, err)) return false;
  lines.push_back("");  // closes the last block
  KnownDifference entry;
  bool open = false;
  auto finish = [&](const std::string& where) {
    if (!open) return true;
    open = false;
    if (entry.reason.empty() || entry.command_text.empty()) {
      *err = where + ": an entry needs both a reason: line and a command: line";
      return false;
    }
    try {
      entry.command = std::regex(entry.command_text, std::regex::ECMAScript);
      entry.rows = std::regex(entry.rows_text.empty() ? ".*" : entry.rows_text,
                              std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      *err = where + ": bad regex: " + e.what();
      return false;
    }
    if (entry.aspect.empty()) entry.aspect = "any";
    out->push_back(entry);
    entry = KnownDifference();
    return true;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::string where = path + ":" + std::to_string(i + 1);
    if (!line.empty() && line[0] == '#') continue;
    if (line.empty()) {
      if (!finish(where)) return false;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      *err = where + ": expected key: value";
      return false;
    }
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (!open) {
      open = true;
      entry.source = where;
    }
    if (key == "reason") {
      entry.reason = value;
    } else if (key == "command") {
      entry.command_text = value;
    } else if (key == "rows") {
      entry.rows_text = value;
    } else if (key == "aspect") {
      static const char* const kAspects[] = {"any",  "status", "outcome", "message",
                                             "cwd",  "argv",   "tree"};
      bool known = false;
      for (const char* a : kAspects) known = known || value == a;
      if (!known) {
        *err = where + ": unknown aspect " + value;
        return false;
      }
      entry.aspect = value;
    } else {
      *err = where + ": unknown key " + key;
      return false;
    }
  }
  return true;
}

}  // namespace differential
}  // namespace rrsync
