#include "decision.h"

#include <string_view>

#include "escape.h"
#include "option_policy.h"
#include "path_resolution.h"
#include "server_command.h"
#include "snapshot_names.h"

namespace rrsync {

namespace {

// Python's str.split(' ', 2): at most three parts, split on single spaces.
std::vector<std::string_view> SplitThree(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  for (int i = 0; i < 2; ++i) {
    size_t space = s.find(' ', pos);
    if (space == std::string_view::npos) break;
    parts.push_back(s.substr(pos, space - pos));
    pos = space + 1;
  }
  parts.push_back(s.substr(pos));
  return parts;
}

// Python's str.replace(old, new): one left-to-right pass over non-overlapping matches.
std::string ReplaceAll(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t at = s.find(from, pos);
    if (at == std::string::npos) break;
    out.append(s, pos, at - pos);
    out += to;
    pos = at + from.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// A ".." component anywhere: "..", "../x", "x/..", "x/../y".
bool HasDotDot(const std::string& path) {
  size_t pos = 0;
  while ((pos = path.find("..", pos)) != std::string::npos) {
    bool starts = pos == 0 || path[pos - 1] == '/';
    bool ends = pos + 2 == path.size() || path[pos + 2] == '/';
    if (starts && ends) return true;
    ++pos;
  }
  return false;
}

class Decider {
 public:
  Decider(const DecisionInput& input, Filesystem& fs, bool sender)
      : settings_(*input.settings),
        dir_(input.dir),
        dir_slash_(input.dir + "/"),
        dir_is_root_(input.dir == "/"),
        glob_limits_(input.glob_limits),
        fs_(fs),
        sender_(sender) {}

  // Checks one path-like value the client sent and appends the words it becomes (several for a
  // glob). Returns false with refusal() set when the value must be refused.
  bool Validate(std::string_view option, std::string arg, ArgCheck check, bool wild,
                std::string_view prefix, std::vector<ServerWord>* out) {
    if (option != "arg") arg = RemoveBackslashes(arg);
    // "-" is rsync's read-the-list-from-stdin marker, not a path.
    if (option == "--files-from") {
      if (arg == "-") {
        out->push_back({std::string(prefix) + arg, std::nullopt});
        return true;
      }
      if (settings_.access == Access::kWriteOnly)
        return Refuse("a write-only server cannot read a remote --files-from path");
    }
    // What every pin of this value shares; its `original` also spells the value in messages.
    PathPin shared;
    shared.option = option;
    shared.original = arg;
    const std::string& original = shared.original;
    if (arg.starts_with("./")) arg.erase(0, 1);
    if (arg.find("//") != std::string::npos) arg = ReplaceAll(arg, "//", "/");
    size_t slashes = arg.find_first_not_of('/');
    if (slashes == std::string::npos) slashes = arg.size();
    if (slashes > 1) arg.erase(0, slashes - 1);
    // A leading "/" means the root of DIR; with -absolute, DIR's own absolute path is accepted.
    bool absolute_form = settings_.absolute && option == "arg" && !dir_is_root_ &&
                         (arg == dir_ || arg.starts_with(dir_slash_));
    shared.absolute_form = absolute_form;
    bool root_relative = arg.starts_with("/") && !absolute_form;
    if (root_relative && !dir_is_root_) {
      arg = dir_ + arg;
    } else if (!absolute_form) {
      size_t first = arg.find_first_not_of('/');
      arg.erase(0, first == std::string::npos ? arg.size() : first);
    }
    if (!dir_is_root_ && HasDotDot(arg))
      return Refuse("do not use .. in " + std::string(option) +
                    " (anchor the path at the root of your restricted dir)");

    bool checked =
        check == ArgCheck::kPathAlways || (check == ArgCheck::kPathWhenReceiving && !sender_);
    // Upstream keeps `glob.glob(arg) or [arg]`; without magic characters the glob yields [arg]
    // or [], so the answer is [arg] either way and the glob's existence test is skipped.
    if (!wild || !HasGlobMagic(arg))
      return CheckPath(std::move(shared), std::move(arg), checked, prefix, out);
    std::vector<std::string> paths;
    std::string glob_err;
    if (!GlobPaths(fs_, dir_, arg, &paths, &glob_err, glob_limits_))
      return Refuse("unsafe arg: " + original + " (" + glob_err + ")");
    if (paths.empty()) paths.push_back(std::move(arg));
    for (std::string& path : paths) {
      if (!CheckPath(shared, std::move(path), checked, prefix, out)) return false;
    }
    return true;
  }

  // Checks one path `path` of a value (one of a glob's, or the value itself) and appends its
  // word; `pin` holds what the value's pins share.
  bool CheckPath(PathPin pin, std::string path, bool checked, std::string_view prefix,
                 std::vector<ServerWord>* out) {
    if (dir_is_root_ || path == "." || !checked) {
      out->push_back({std::string(prefix) + path, std::nullopt});
      return true;
    }
    if (path.ends_with("/")) {
      path.pop_back();
      pin.trailer = "/";
    } else if (path.ends_with("/.")) {
      path.resize(path.size() - 2);
      pin.trailer = "/.";
    }
    std::string err;
    if (!ResolveRealPath(fs_, dir_, path, &pin.real_path, &err))
      return Refuse("unsafe arg: " + pin.original + " (" + err + ")");
    // A path that resolves outside DIR (through a symlink) is refused before anything opens it.
    if (path != pin.real_path && !pin.real_path.starts_with(dir_slash_) &&
        !(pin.absolute_form && pin.real_path == dir_)) {
      return Refuse("unsafe arg: " + pin.original + " [" + PythonRepr(path) + ", " +
                    PythonRepr(pin.real_path) + "]");
    }
    // Snapshot mode: a push in progress is no snapshot, whatever its state (a pull during a
    // push sees only complete ones; rsync is also told to exclude them, AppendOwnOptions).
    if (settings_.snapshots && pin.real_path.starts_with(dir_slash_) &&
        pin.real_path.compare(dir_slash_.size(), kIncomingSnapshotPrefix.size(),
                              kIncomingSnapshotPrefix) == 0)
      return Refuse("unsafe arg: " + pin.original + " (a snapshot push in progress)");
    pin.path = std::move(path);
    out->push_back(ServerWord{std::string(prefix), std::move(pin)});
    return true;
  }

  bool Refuse(std::string message) {
    refusal_ = std::move(message);
    return false;
  }

  const std::string& refusal() const { return refusal_; }
  bool dir_is_root() const { return dir_is_root_; }

 private:
  const Settings& settings_;
  const std::string dir_;
  const std::string dir_slash_;
  const bool dir_is_root_;
  const GlobLimits glob_limits_;
  Filesystem& fs_;
  const bool sender_;
  std::string refusal_;
};

}  // namespace

std::optional<std::string> DirectionRefusal(Access access, bool sender) {
  if (access == Access::kReadOnly && !sender) return "sending to read-only server is not allowed";
  if (access == Access::kWriteOnly && sender)
    return "reading from write-only server is not allowed";
  return std::nullopt;
}

namespace {

Decision Refused(std::string message) {
  Decision d;
  d.verdict = Verdict::kRefuse;
  d.refusal = std::move(message);
  return d;
}

// Splits "--name=value" as upstream's ^--([^=]+)(?:=(.*))?$ does.
bool SplitLongOption(const std::string& word, std::string* name,
                     std::optional<std::string>* value) {
  if (!word.starts_with("--") || word.size() < 3 || word[2] == '=') return false;
  size_t eq = word.find('=', 2);
  *name = word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  if (eq == std::string::npos) {
    value->reset();
  } else {
    *value = word.substr(eq + 1);
  }
  return true;
}

// Appends the options rrsync adds after the client's, and names in `omitted` those this rsync
// lacks.
void AppendOwnOptions(const DecisionInput& input, bool sender, bool below_root,
                      std::vector<ServerWord>* words, std::vector<std::string>* omitted) {
  const Settings& settings = *input.settings;
  // -D is part of -a, so it cannot be refused; --drop-D makes a receiver below "/" refuse to
  // create devices and specials while keeping the file-list format the client expects.
  if (below_root && !sender) {
    if (input.features.drop_devices) {
      words->push_back({"--drop-D", std::nullopt});
    } else {
      omitted->push_back("--drop-D");
    }
  }
  // Filter rules travel inside the protocol, not in the argv checked here, so a client could
  // name a merge file outside DIR; --confine-root bounds rsync's own resolution of such paths.
  if (below_root) {
    if (input.features.confine_root) {
      words->push_back(
          {"--confine-root=" + (input.confine_root.empty() ? input.dir : input.confine_root),
           std::nullopt});
    } else {
      omitted->push_back("--confine-root");
    }
  }
  // Snapshot mode: a pull never lists a push in progress (DIR/.rrsync-incoming-*), even for
  // "rsync host:/"; rsync's own rules come before the client's. The link-dest level seeds the
  // new snapshot from latest.
  if (settings.snapshots && sender)
    words->push_back({"--exclude=/" + std::string(kIncomingSnapshotPrefix) + "*", std::nullopt});
  if (!input.snapshot_link_dest.empty() && !sender)
    words->push_back({"--link-dest=" + input.snapshot_link_dest, std::nullopt});
  if (settings.munge_links) words->push_back({"--munge-links", std::nullopt});
  if (settings.no_overwrite) words->push_back({"--ignore-existing", std::nullopt});
}

}  // namespace

Decision Decide(const DecisionInput& input, Filesystem& fs) {
  const Settings& settings = *input.settings;
  if (!input.command || input.command->empty()) return Refused("Not invoked via sshd");
  const std::string& command = *input.command;
  // "ssh host true" checks connectivity (rsbackup does this).
  if (command == "true") {
    Decision d;
    d.verdict = Verdict::kConnectivityCheck;
    return d;
  }
  std::vector<std::string_view> parts = SplitThree(command);
  if (parts[0] == "rrsync-probe") {
    Decision d;
    d.verdict = Verdict::kProbe;
    return d;
  }
  if (parts[0] != "rsync") return Refused("SSH_ORIGINAL_COMMAND does not run rsync");
  if (parts.size() < 2 || parts[1] != "--server")
    return Refused("--server option is not the first arg");
  const std::string_view rest = parts.size() < 3 ? std::string_view() : parts[2];

  // Only "--sender" right after "--server" makes a pull: restrictive on purpose, as upstream.
  const bool sender = rest.starts_with("--sender ");
  if (std::optional<std::string> refusal = DirectionRefusal(settings.access, sender))
    return Refused(*refusal);

  Decider decider(input, fs, sender);
  OptionPolicy policy(settings, sender, decider.dir_is_root(), !input.snapshot_link_dest.empty());
  Request request;
  request.sender = sender;
  std::vector<std::string> client_words = SplitServerWords(rest);
  // The argv after the rsync path, in order: one vector, reserved for every client word plus
  // "--server", rrsync's own options, "--" and ".", so that 100,000 arguments are not moved.
  std::vector<ServerWord> words;
  words.reserve(client_words.size() + 8);
  words.push_back({"--server", std::nullopt});
  size_t first_arg = 0;  // where the file arguments start in `words`, once the "." is seen
  bool saw_dot = false;
  bool pending = false;  // the previous word was a long option whose argument comes next
  ArgCheck pending_check = ArgCheck::kNoArgument;
  std::string pending_option;

  for (std::string& word : client_words) {
    if (pending) {
      // The separate argument of the previous long option.
      if (!decider.Validate(pending_option, word, pending_check, false, "", &words))
        return Refused(decider.refusal());
      pending = false;
      continue;
    }
    if (saw_dot) {
      // File arguments. One starting with "-" is harmless: rsync gets "--" before them.
      std::string arg =
          word.find('\\') == std::string::npos ? std::move(word) : RemoveBackslashes(word);
      if (!decider.Validate("arg", std::move(arg), ArgCheck::kPathAlways, true, "", &words))
        return Refused(decider.refusal());
      continue;
    }
    if (word == ".") {
      // The client's options end here; rrsync's own follow them, then "--" and the arguments.
      saw_dot = true;
      AppendOwnOptions(input, sender, !decider.dir_is_root(), &words, &request.omitted);
      words.push_back({"--", std::nullopt});
      words.push_back({".", std::nullopt});
      first_arg = words.size();
      continue;
    }
    if (policy.IsShortCluster(word, &request.relative) || policy.IsShortWithNumber(word)) {
      words.push_back({word, std::nullopt});
      continue;
    }
    std::string name;
    std::optional<std::string> value;
    if (SplitLongOption(word, &name, &value)) {
      std::optional<ArgCheck> check = policy.LongOption(name);
      if (!check) break;  // unknown: the generic refusal below
      if (name == "relative") request.relative = true;
      if (name == "no-relative") request.relative = false;
      if (*check == ArgCheck::kDisabled)
        return Refused("option --" + name + " has been disabled on this server.");
      if (*check == ArgCheck::kNoArgument) {
        words.push_back({word, std::nullopt});
        continue;
      }
      if (value) {
        if (!decider.Validate("--" + name, *value, *check, false, "--" + name + "=", &words))
          return Refused(decider.refusal());
      } else {
        words.push_back({word, std::nullopt});
        pending = true;
        pending_check = *check;
        pending_option = "--" + name;
      }
      continue;
    }
    if (char letter = policy.DisabledShortOption(word))
      return Refused(std::string("option -") + letter + " has been disabled on this server.");
    break;
  }
  if (!saw_dot) return Refused("invalid rsync-command syntax or options");
  if (words.size() == first_arg) words.push_back({".", std::nullopt});

  request.words = std::move(words);
  Decision d;
  d.verdict = Verdict::kRunRsync;
  d.request = std::move(request);
  return d;
}

}  // namespace rrsync
