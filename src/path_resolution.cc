#include "path_resolution.h"

#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "escape.h"

namespace rrsync {

namespace {

bool IsAbsolute(std::string_view path) { return !path.empty() && path[0] == '/'; }

// posixpath.join of two parts.
std::string JoinPath(const std::string& a, const std::string& b) {
  if (IsAbsolute(b)) return b;
  if (a.empty() || a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string FromCwd(const std::string& cwd, const std::string& path) {
  if (path.empty()) return cwd;
  return JoinPath(cwd, path);
}

// Appends `name` (one component, without "/") to `path` as posixpath.join(path, name) does.
void AppendComponent(std::string* path, std::string_view name) {
  if (!path->empty() && path->back() != '/') *path += '/';
  *path += name;
}

struct RealPathWalk {
  Filesystem& fs;
  const std::string& cwd;
  std::map<std::string, std::optional<std::string>> seen;
  std::string error;
  std::string absolute;  // scratch for FromCwd, reused so that a component costs no allocation

  // FromCwd(cwd, path) in `absolute`.
  std::string& Absolute(const std::string& path) {
    if (IsAbsolute(path)) {
      absolute.assign(path);
    } else {
      absolute.assign(cwd);
      if (!absolute.empty() && absolute.back() != '/') absolute += '/';
      absolute += path;
    }
    return absolute;
  }

  // posixpath._joinrealpath: returns the resolved path and whether resolution completed.
  // `rest` must not point into `path`.
  std::pair<std::string, bool> Join(std::string path, std::string_view rest) {
    if (IsAbsolute(rest)) {
      rest.remove_prefix(1);
      path = "/";
    }
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      std::string_view name = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (name.empty() || name == ".") continue;
      if (name == "..") {
        if (!path.empty()) {
          auto [head, tail] = SplitPath(path);
          path = head;
          if (tail == "..") path = JoinPath(JoinPath(path, ".."), "..");
        } else {
          path = "..";
        }
        continue;
      }
      // `path` becomes the next path in place; a symlink puts it back.
      const size_t before = path.size();
      AppendComponent(&path, name);
      if (fs.LinkKind(Absolute(path)) != FileKind::kSymlink) continue;
      std::string next = path;
      path.resize(before);
      auto it = seen.find(next);
      if (it != seen.end()) {
        if (it->second) {
          path = *it->second;
          continue;
        }
        return {JoinPath(next, std::string(rest)), false};  // a symlink loop: keep the rest
      }
      seen[next] = std::nullopt;
      std::string target;
      if (!fs.ReadLink(Absolute(next), &target)) {
        error = "unable to read symlink " + next;
        return {next, false};
      }
      auto [resolved, ok] = Join(path, target);
      path = resolved;
      if (!ok) return {JoinPath(path, std::string(rest)), false};
      seen[next] = path;
    }
    return {path, true};
  }
};

// Whether NormalizePath(path) == path for certain: one leading "/" at most, and only non-empty
// components other than "." and "..". False answers are allowed; they only cost the slow way.
bool IsNormalPath(std::string_view path) {
  if (path.empty()) return false;
  size_t start = path[0] == '/' ? 1 : 0;
  if (start == path.size()) return true;  // "/"
  // Each component runs from `start` to the next "/" or the end.
  for (size_t i = start; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    size_t length = i - start;
    if (length == 0) return false;
    if (path[start] == '.' && (length == 1 || (length == 2 && path[start + 1] == '.')))
      return false;
    start = i + 1;
  }
  return true;
}

// One element of a compiled fnmatch pattern.
struct PatternToken {
  enum Kind { kLiteral, kAny, kStar, kClass };
  explicit PatternToken(Kind k, char32_t c = 0) : kind(k), literal(c) {}
  Kind kind;
  char32_t literal;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;  // for kClass
};

std::vector<char32_t> CodePoints(const std::string& s) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t length;
    out.push_back(DecodeUtf8(s, pos, &length));
    pos += length;
  }
  return out;
}

std::vector<PatternToken> CompilePattern(const std::string& pattern) {
  std::vector<char32_t> p = CodePoints(pattern);
  std::vector<PatternToken> tokens;
  size_t i = 0;
  const size_t n = p.size();
  // next_close[k]: the first "]" at or after k (n if none), so that a run of unclosed "[" costs
  // linear time, not quadratic.
  std::vector<size_t> next_close(n + 1, n);
  for (size_t k = n; k-- > 0;) next_close[k] = p[k] == ']' ? k : next_close[k + 1];
  while (i < n) {
    char32_t c = p[i++];
    if (c == '*') {
      if (tokens.empty() || tokens.back().kind != PatternToken::kStar)
        tokens.emplace_back(PatternToken::kStar);
    } else if (c == '?') {
      tokens.emplace_back(PatternToken::kAny);
    } else if (c == '[') {
      size_t j = i;
      if (j < n && p[j] == '!') ++j;
      if (j < n && p[j] == ']') ++j;
      j = next_close[j];
      if (j >= n) {
        tokens.emplace_back(PatternToken::kLiteral, U'[');
        continue;
      }
      PatternToken token(PatternToken::kClass);
      size_t k = i;
      if (p[k] == '!') {
        token.negated = true;
        ++k;
      }
      // Items are single characters or ranges "a-z"; a range whose ends are reversed is empty.
      while (k < j) {
        char32_t lo = p[k];
        if (k + 2 < j && p[k + 1] == '-') {
          token.ranges.push_back({lo, p[k + 2]});
          k += 3;
        } else {
          token.ranges.push_back({lo, lo});
          ++k;
        }
      }
      tokens.push_back(std::move(token));
      i = j + 1;
    } else {
      tokens.emplace_back(PatternToken::kLiteral, c);
    }
  }
  return tokens;
}

bool TokenMatches(const PatternToken& token, char32_t c) {
  switch (token.kind) {
    case PatternToken::kLiteral:
      return c == token.literal;
    case PatternToken::kAny:
      return true;
    case PatternToken::kClass: {
      bool in = false;
      for (const auto& [lo, hi] : token.ranges) in = in || (c >= lo && c <= hi);
      return in != token.negated;
    }
    case PatternToken::kStar:
      break;
  }
  return false;
}

// Glob matching with backtracking to the last star: linear in practice, never exponential.
bool MatchTokens(const std::vector<PatternToken>& tokens, const std::vector<char32_t>& text) {
  size_t t = 0, s = 0;
  size_t star = std::string::npos, star_s = 0;
  while (s < text.size()) {
    if (t < tokens.size() && tokens[t].kind == PatternToken::kStar) {
      star = t++;
      star_s = s;
    } else if (t < tokens.size() && TokenMatches(tokens[t], text[s])) {
      ++t;
      ++s;
    } else if (star != std::string::npos) {
      t = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (t < tokens.size() && tokens[t].kind == PatternToken::kStar) ++t;
  return t == tokens.size();
}

// What one expansion may still spend; `exceeded` stops all further work.
struct GlobBudget {
  size_t entries_left;
  size_t results_left;
  bool exceeded = false;

  bool Spend(size_t* left, size_t n) {
    if (exceeded || n > *left) {
      exceeded = true;
      return false;
    }
    *left -= n;
    return true;
  }
};

std::vector<std::string> GlobInDirectory(Filesystem& fs, const std::string& cwd,
                                         const std::string& dirname, const std::string& pattern,
                                         bool dirs_only, GlobBudget* budget) {
  std::vector<std::string> names;
  if (budget->exceeded || !fs.ListDirectory(FromCwd(cwd, dirname), dirs_only, &names)) return {};
  if (!budget->Spend(&budget->entries_left, names.size() + 1)) return {};
  std::vector<PatternToken> tokens = CompilePattern(pattern);
  bool hidden_pattern = !pattern.empty() && pattern[0] == '.';
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (!hidden_pattern && name[0] == '.') continue;
    if (MatchTokens(tokens, CodePoints(name))) out.push_back(name);
  }
  return out;
}

std::vector<std::string> GlobLiteral(Filesystem& fs, const std::string& cwd,
                                     const std::string& dirname, const std::string& basename) {
  if (basename.empty()) {
    if (fs.IsDirectory(FromCwd(cwd, dirname))) return {basename};
  } else if (fs.LinkKind(FromCwd(cwd, JoinPath(dirname, basename))) != FileKind::kMissing) {
    return {basename};
  }
  return {};
}

std::vector<std::string> Glob(Filesystem& fs, const std::string& cwd, const std::string& pathname,
                              bool dirs_only, GlobBudget* budget) {
  if (budget->exceeded) return {};
  auto [dirname, basename] = SplitPath(pathname);
  if (!HasGlobMagic(pathname)) {
    if (!basename.empty()) {
      if (fs.LinkKind(FromCwd(cwd, pathname)) != FileKind::kMissing) return {pathname};
    } else if (fs.IsDirectory(FromCwd(cwd, dirname))) {
      return {pathname};
    }
    return {};
  }
  if (dirname.empty()) return GlobInDirectory(fs, cwd, "", basename, dirs_only, budget);
  std::vector<std::string> dirs;
  if (dirname != pathname && HasGlobMagic(dirname)) {
    dirs = Glob(fs, cwd, dirname, true, budget);
  } else {
    dirs = {dirname};
  }
  std::vector<std::string> out;
  for (const std::string& dir : dirs) {
    std::vector<std::string> names =
        HasGlobMagic(basename) ? GlobInDirectory(fs, cwd, dir, basename, dirs_only, budget)
                               : GlobLiteral(fs, cwd, dir, basename);
    if (!budget->Spend(&budget->results_left, names.size())) return {};
    for (const std::string& name : names) out.push_back(JoinPath(dir, name));
  }
  return out;
}

}  // namespace

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t cut = path.rfind('/');
  cut = cut == std::string::npos ? 0 : cut + 1;
  std::string head = path.substr(0, cut);
  std::string tail = path.substr(cut);
  if (!head.empty() && head.find_first_not_of('/') != std::string::npos) {
    while (!head.empty() && head.back() == '/') head.pop_back();
  }
  return {head, tail};
}

std::string NormalizePath(const std::string& path) {
  if (path.empty()) return ".";
  int initial_slashes = path[0] == '/' ? 1 : 0;
  if (path.starts_with("//") && !path.starts_with("///")) initial_slashes = 2;
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp != ".." || (initial_slashes == 0 && parts.empty()) ||
        (!parts.empty() && parts.back() == "..")) {
      parts.push_back(comp);
    } else if (!parts.empty()) {
      parts.pop_back();
    }
  }
  std::string out(static_cast<size_t>(initial_slashes), '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

bool ResolveRealPath(Filesystem& fs, const std::string& cwd, const std::string& path,
                     std::string* resolved, std::string* err) {
  RealPathWalk walk{fs, cwd, {}, {}, {}};
  auto [joined, ok] = walk.Join("", path);
  (void)ok;
  if (!walk.error.empty()) {
    *err = walk.error;
    return false;
  }
  // For a relative result the walk's scratch buffer can become the absolute path: it already
  // has the room, and usually the text.
  if (!IsAbsolute(joined))
    joined = joined.empty() ? JoinPath(cwd, joined) : std::move(walk.Absolute(joined));
  if (IsNormalPath(joined)) {
    *resolved = std::move(joined);
  } else {
    *resolved = NormalizePath(joined);
  }
  return true;
}

bool GlobPaths(Filesystem& fs, const std::string& cwd, const std::string& pattern,
               std::vector<std::string>* paths, std::string* err, const GlobLimits& limits) {
  // Each magic directory level is one level of recursion: the pattern length bounds the depth.
  if (HasGlobMagic(pattern) && pattern.size() > limits.max_pattern_bytes) {
    *err = "glob pattern too long";
    return false;
  }
  GlobBudget budget{limits.max_entries, limits.max_results};
  *paths = Glob(fs, cwd, pattern, false, &budget);
  if (budget.exceeded) {
    paths->clear();
    *err = "glob matches too many paths";
    return false;
  }
  return true;
}

bool HasGlobMagic(std::string_view pattern) {
  // A plain loop: find_first_of searches the set once per character of the pattern.
  for (char c : pattern) {
    if (c == '*' || c == '?' || c == '[') return true;
  }
  return false;
}

bool MatchesPattern(const std::string& name, const std::string& pattern) {
  return MatchTokens(CompilePattern(pattern), CodePoints(name));
}

}  // namespace rrsync
