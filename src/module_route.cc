#include "module_route.h"

#include <fnmatch.h>

#include <string_view>

#include "command_line.h"
#include "option_policy.h"
#include "server_command.h"

namespace rrsync {

namespace {

// The words of "rsync --server REST" split as Decide splits them, with the index of the "."
// word that separates options from file arguments.
struct ServerCommandShape {
  bool sender = false;
  std::vector<std::string> words;
  std::vector<bool> option_argument;  // words[i] is the separate argument of a long option
  size_t dot = std::string::npos;
};

// Returns false when `command` is not an rsync server command whose file arguments can be told
// apart; Decide then refuses it (or answers "true" and the probe) with its own message.
bool ShapeOf(const std::string& command, ServerCommandShape* shape) {
  // Decide splits with Python's str.split(' ', 2); anything else is its to refuse.
  const std::string_view prefix = "rsync --server ";
  if (!command.starts_with(prefix)) return false;
  const std::string rest = command.substr(prefix.size());
  shape->sender = rest.starts_with("--sender ");
  shape->words = SplitServerWords(rest);
  shape->option_argument.assign(shape->words.size(), false);
  // Only whether a long option takes a separate argument matters here; the admin's flags do not
  // change that, so default settings are enough.
  Settings defaults;
  OptionPolicy policy(defaults, shape->sender, /*dir_is_root=*/false);
  bool pending = false;
  for (size_t i = 0; i < shape->words.size(); ++i) {
    const std::string& word = shape->words[i];
    if (pending) {
      shape->option_argument[i] = true;
      pending = false;
      continue;
    }
    if (word == ".") {
      shape->dot = i;
      return true;
    }
    if (word.starts_with("--") && word.size() > 2 && word[2] != '=') {
      if (word.find('=') != std::string::npos) continue;
      std::optional<ArgCheck> check = policy.LongOption(word.substr(2));
      if (!check) return false;
      pending = *check == ArgCheck::kUnchecked || *check == ArgCheck::kPathWhenReceiving ||
                *check == ArgCheck::kPathAlways;
    }
  }
  return false;
}

std::string JoinModules(const std::vector<std::string>& modules) {
  std::string out;
  for (const std::string& m : modules) out += (out.empty() ? "" : ", ") + m;
  return out;
}

// Splits raw file argument `word` (backslashes kept) at its first unescaped "/" after any
// leading slashes: the module component, de-backslashed, and the rest, still escaped.
void SplitFirstComponent(const std::string& word, std::string* component, std::string* rest) {
  size_t start = word.find_first_not_of('/');
  if (start == std::string::npos) start = word.size();
  size_t i = start;
  while (i < word.size() && word[i] != '/') {
    // An escape takes the next byte with it, as SplitServerWords does; UTF-8 continuation
    // bytes are never "/" or "\", so stepping by bytes is safe.
    i += (word[i] == '\\' && i + 1 < word.size()) ? 2 : 1;
  }
  *component = RemoveBackslashes(std::string_view(word).substr(start, i - start));
  *rest = i < word.size() ? word.substr(i + 1) : std::string();
}

Route Refusal(std::string message) {
  Route r;
  r.kind = Route::Kind::kRefuse;
  r.refusal = std::move(message);
  return r;
}

// The long name a short option letter stands for, for matching refuse/allow terms.
std::vector<std::string_view> LongNamesOfLetter(char c) {
  switch (c) {
    case 'A':
      return {"acls"};
    case 'C':
      return {"cvs-exclude"};
    case 'D':
      return {"devices", "specials"};
    case 'E':
      return {"executability"};
    case 'H':
      return {"hard-links"};
    case 'I':
      return {"ignore-times"};
    case 'J':
      return {"omit-link-times"};
    case 'K':
      return {"keep-dirlinks"};
    case 'L':
      return {"copy-links"};
    case 'N':
      return {"crtimes"};
    case 'O':
      return {"omit-dir-times"};
    case 'R':
      return {"relative"};
    case 'S':
      return {"sparse"};
    case 'U':
      return {"atimes"};
    case 'W':
      return {"whole-file"};
    case 'X':
      return {"xattrs"};
    case 'b':
      return {"backup"};
    case 'c':
      return {"checksum"};
    case 'd':
      return {"dirs"};
    case 'g':
      return {"group"};
    case 'k':
      return {"copy-dirlinks"};
    case 'l':
      return {"links"};
    case 'm':
      return {"prune-empty-dirs"};
    case 'n':
      return {"dry-run"};
    case 'o':
      return {"owner"};
    case 'p':
      return {"perms"};
    case 'q':
      return {"quiet"};
    case 'r':
      return {"recursive"};
    case 's':
      return {"secluded-args", "protect-args"};
    case 't':
      return {"times"};
    case 'u':
      return {"update"};
    case 'v':
      return {"verbose"};
    case 'x':
      return {"one-file-system"};
    case 'y':
      return {"fuzzy"};
    case 'z':
      return {"compress"};
    case 'B':
      return {"block-size"};
    case '@':
      return {"modify-window"};
    default:
      return {};
  }
}

// What -a implies (-rlptgoD), for the terms "a" and "archive".
bool ImpliedByArchive(std::string_view name) {
  for (std::string_view n :
       {"recursive", "links", "perms", "times", "group", "owner", "devices", "specials"})
    if (n == name) return true;
  return false;
}

bool TermMatchesName(const std::string& term, std::string_view name) {
  std::string n(name);
  // Like rsyncd.conf, a wildcard never matches --dry-run: a "refuse everything" list should
  // not turn a harmless trial run into a refusal by accident.
  bool wild = term.find_first_of("*?") != std::string::npos;
  if (wild && name == "dry-run") return false;
  if (fnmatch(term.c_str(), n.c_str(), 0) == 0) return true;
  if (term == "delete" && name.starts_with("delete-")) return true;  // they imply --delete
  if ((term == "a" || term == "archive") && ImpliedByArchive(name)) return true;
  return false;
}

// Whether one of `terms` matches the option with these long names (and letter, if short).
bool AnyTermMatches(const std::vector<std::string>& terms, char letter,
                    const std::vector<std::string_view>& names) {
  for (const std::string& term : terms) {
    if (letter != 0 && term.size() == 1 && term[0] == letter) return true;
    for (std::string_view name : names)
      if (TermMatchesName(term, name)) return true;
  }
  return false;
}

}  // namespace

Route RouteRequest(const std::string& command, const std::vector<std::string>& modules) {
  ServerCommandShape shape;
  Route route;
  if (!ShapeOf(command, &shape)) {
    route.kind = Route::Kind::kPassThrough;
    route.command = command;
    return route;
  }
  // Re-joining the words with single spaces would turn "--sender<TAB>..." (which Decide refuses:
  // only "--sender " makes a pull) into a pull; refuse it here with Decide's own message.
  if (!shape.sender && !shape.words.empty() && shape.words[0] == "--sender")
    return Refusal("option --sender has been disabled on this server.");
  std::string chosen;
  std::vector<std::string> words = shape.words;
  bool only_top = true;  // every file argument names the top, where the modules are
  for (size_t i = shape.dot + 1; i < words.size(); ++i) {
    if (shape.option_argument[i]) continue;
    std::string component;
    std::string rest;
    SplitFirstComponent(words[i], &component, &rest);
    if (component.empty() || component == ".") continue;
    only_top = false;
    bool known = false;
    for (const std::string& m : modules) known = known || m == component;
    if (!known)
      return Refusal("unknown module '" + component +
                     "' (this key may use: " + JoinModules(modules) + ")");
    if (!chosen.empty() && chosen != component)
      return Refusal("a request must stay inside one module: it names " + chosen + " and " +
                     component);
    chosen = component;
    words[i] = rest.empty() ? "." : rest;
  }
  if (only_top) {
    // Nothing to serve from the top but the list of modules, and nothing may be written there.
    if (shape.sender) {
      route.kind = Route::Kind::kListModules;
      route.command = command;
      return route;
    }
    return Refusal(
        "name a module as the first component of the path (HOST:MODULE/PATH; this "
        "key may use: " +
        JoinModules(modules) + ")");
  }
  // A top-level argument next to a module's: it would be read inside that module instead.
  for (size_t i = shape.dot + 1; i < words.size(); ++i) {
    if (shape.option_argument[i]) continue;
    std::string component;
    std::string rest;
    SplitFirstComponent(shape.words[i], &component, &rest);
    if (component.empty() || component == ".")
      return Refusal("a request must stay inside one module: every path must start with " + chosen +
                     "/");
  }
  route.kind = Route::Kind::kModule;
  route.module = chosen;
  route.command = "rsync --server";
  for (const std::string& w : words) route.command += " " + w;
  return route;
}

std::optional<std::string> RefusedOption(const std::string& command,
                                         const std::vector<std::string>& refuse,
                                         const std::vector<std::string>& allow) {
  if (refuse.empty()) return std::nullopt;
  ServerCommandShape shape;
  // What rrsync cannot parse, Decide refuses anyway.
  if (!ShapeOf(command, &shape)) return std::nullopt;
  for (size_t i = 0; i < shape.dot; ++i) {
    if (shape.option_argument[i]) continue;
    const std::string& word = shape.words[i];
    if (word.starts_with("--")) {
      std::string name = word.substr(
          2, word.find('=') == std::string::npos ? std::string::npos : word.find('=') - 2);
      if (name == "server" || name == "sender") continue;
      std::vector<std::string_view> names{name};
      if (AnyTermMatches(refuse, 0, names) && !AnyTermMatches(allow, 0, names))
        return "option --" + name + " has been disabled on this server.";
      continue;
    }
    if (word.size() < 2 || word[0] != '-') continue;
    // A cluster of letters, ending at the "e<version>.<capabilities>" blob; -B and -@ carry a
    // number, so only their own letter counts.
    size_t end = (word[1] == 'B' || word[1] == '@') ? 2 : word.find('e');
    if (end == std::string::npos) end = word.size();
    for (size_t j = 1; j < end; ++j) {
      char letter = word[j];
      std::vector<std::string_view> names = LongNamesOfLetter(letter);
      if (AnyTermMatches(refuse, letter, names) && !AnyTermMatches(allow, letter, names))
        return std::string("option -") + letter + " has been disabled on this server.";
    }
  }
  return std::nullopt;
}

}  // namespace rrsync
