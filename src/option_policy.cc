#include "option_policy.h"

#include <algorithm>
#include <iterator>

namespace rrsync {

namespace {

struct LongOptionEntry {
  std::string_view name;
  ArgCheck check;
  // The short option this is the long name of (one popt entry in rsync's options.c gives both
  // spellings), or 0. The long name is refused exactly when the letter is.
  char short_form = 0;
};

using enum ArgCheck;

// The long options a stock rsync client sends to a server, as upstream rrsync (rsync 3.5.0)
// lists them, in alphabetical order (looked up by binary search). Added to upstream's list: the
// long names of the allowed short options and --ignore-non-existing, which openrsync (macOS's
// rsync) sends instead of the short forms; each shares one popt entry with its short form or with
// --existing in rsync 3.5.0's options.c, so rsync cannot tell the spellings apart.
constexpr LongOptionEntry kLongOptions[] = {
    {"acls", kNoArgument, 'A'},  // not upstream's (README, differences 11)
    {"append", kNoArgument},
    {"atimes", kNoArgument, 'U'},  // not upstream's (README, differences 11)
    {"backup", kNoArgument, 'b'},  // not upstream's (README, differences 11)
    {"backup-dir", kPathWhenReceiving},
    {"block-size", kUnchecked},
    {"bwlimit", kUnchecked},
    {"checksum", kNoArgument, 'c'},  // not upstream's (README, differences 11)
    {"checksum-choice", kUnchecked},
    {"checksum-seed", kUnchecked},
    {"compare-dest", kPathWhenReceiving},
    {"compress", kNoArgument, 'z'},  // not upstream's (README, differences 11)
    {"compress-choice", kUnchecked},
    {"compress-level", kUnchecked},
    {"compress-threads", kUnchecked},
    {"copy-dest", kPathWhenReceiving},
    {"copy-devices", kDisabled},
    {"copy-dirlinks", kNoArgument, 'k'},  // not upstream's (README, differences 11)
    {"copy-links", kNoArgument, 'L'},  // not upstream's (README, differences 11)
    {"copy-unsafe-links", kNoArgument},
    {"crtimes", kNoArgument, 'N'},  // not upstream's (README, differences 11)
    {"cvs-exclude", kNoArgument, 'C'},  // not upstream's (README, differences 11)
    {"daemon", kDisabled},
    {"debug", kDisabled},
    {"delay-updates", kNoArgument},
    {"delete", kNoArgument},
    {"delete-after", kNoArgument},
    {"delete-before", kNoArgument},
    {"delete-delay", kNoArgument},
    {"delete-during", kNoArgument},
    {"delete-excluded", kNoArgument},
    {"delete-missing-args", kNoArgument},
    {"dirs", kNoArgument, 'd'},
    {"dry-run", kNoArgument, 'n'},  // not upstream's (README, differences 11)
    {"executability", kNoArgument, 'E'},  // not upstream's (README, differences 11)
    {"existing", kNoArgument},
    {"fake-super", kNoArgument},
    {"files-from", kPathAlways},
    {"force", kNoArgument},
    {"from0", kNoArgument},
    {"fsync", kNoArgument},
    {"fuzzy", kNoArgument, 'y'},
    {"group", kNoArgument, 'g'},
    {"groupmap", kUnchecked},
    {"hard-links", kNoArgument, 'H'},
    {"iconv", kUnchecked},
    {"ignore-errors", kNoArgument},
    {"ignore-existing", kNoArgument},
    {"ignore-missing-args", kNoArgument},
    {"ignore-non-existing", kNoArgument},  // --existing's other spelling (differences 11)
    {"ignore-times", kNoArgument, 'I'},
    {"info", kUnchecked},
    {"inplace", kNoArgument},
    {"keep-dirlinks", kNoArgument, 'K'},  // not upstream's (README, differences 11)
    {"link-dest", kPathWhenReceiving},
    {"links", kNoArgument, 'l'},
    {"list-only", kNoArgument},
    {"log-file", kPathAlways},
    {"log-format", kUnchecked},
    {"max-alloc", kUnchecked},
    {"max-delete", kUnchecked},
    {"max-size", kUnchecked},
    {"min-size", kUnchecked},
    {"mkpath", kNoArgument},
    {"modify-window", kUnchecked},
    {"msgs2stderr", kNoArgument},
    {"munge-links", kNoArgument},
    {"new-compress", kNoArgument},
    {"no-W", kNoArgument},
    {"no-implied-dirs", kNoArgument},
    {"no-msgs2stderr", kNoArgument},
    {"no-munge-links", kDisabled},
    {"no-r", kNoArgument},
    {"no-relative", kNoArgument},
    {"no-specials", kNoArgument},
    {"numeric-ids", kNoArgument},
    {"old-compress", kNoArgument},
    {"omit-dir-times", kNoArgument, 'O'},  // not upstream's (README, differences 11)
    {"omit-link-times", kNoArgument, 'J'},  // not upstream's (README, differences 11)
    {"one-file-system", kNoArgument, 'x'},
    {"only-write-batch", kUnchecked},
    {"open-noatime", kNoArgument},
    {"owner", kNoArgument, 'o'},
    {"partial", kNoArgument},
    {"partial-dir", kPathWhenReceiving},
    {"perms", kNoArgument, 'p'},
    {"preallocate", kNoArgument},
    {"prune-empty-dirs", kNoArgument, 'm'},  // not upstream's (README, differences 11)
    {"quiet", kNoArgument, 'q'},  // not upstream's (README, differences 11)
    {"recursive", kNoArgument, 'r'},
    {"relative", kNoArgument, 'R'},  // not upstream's (README, differences 11)
    {"remove-sent-files", kNoArgument},
    {"remove-source-files", kNoArgument},
    {"safe-links", kNoArgument},
    {"sender", kNoArgument},
    {"server", kNoArgument},
    {"size-only", kNoArgument},
    {"skip-compress", kUnchecked},
    {"sparse", kNoArgument, 'S'},  // not upstream's (README, differences 11)
    {"specials", kNoArgument},
    {"stats", kNoArgument},
    {"stderr", kUnchecked},
    {"suffix", kUnchecked},
    {"super", kNoArgument},
    {"temp-dir", kPathWhenReceiving},
    {"timeout", kUnchecked},
    {"times", kNoArgument, 't'},
    {"update", kNoArgument, 'u'},  // not upstream's (README, differences 11)
    {"use-qsort", kNoArgument},
    {"usermap", kUnchecked},
    {"verbose", kNoArgument, 'v'},  // not upstream's (README, differences 11)
    {"whole-file", kNoArgument, 'W'},  // not upstream's (README, differences 11)
    {"write-devices", kDisabled},
    {"xattrs", kNoArgument, 'X'},  // not upstream's (README, differences 11)
};

// Short options without an argument that a client may send. "e" is absent: it only appears as
// the capability blob at the end of a cluster.
constexpr std::string_view kShortNoArgument = "ACDEHIJKLNORSUWXbcdgklmnopqrstuvxyz";
// Short options followed by a number.
constexpr std::string_view kShortWithNumber = "@B";
// Always refused in the command decided here. A client's -s never reaches it: main reads the
// secluded words first and decides the plain command they make (src/secluded_command.h). An s
// in that command came from the secluded words themselves and would make rsync, run with it,
// read further arguments from stdin that nobody checked.
constexpr std::string_view kShortDisabled = "s";
// Refused below "/": they make rsync follow symlinks that may lead out of DIR.
constexpr std::string_view kShortDisabledBelowRoot = "KLk";

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAsciiWordChar(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

}  // namespace

OptionPolicy::OptionPolicy(const Settings& settings, bool sender, bool dir_is_root,
                           bool snapshot_link_dest)
    : settings_(settings),
      sender_(sender),
      dir_is_root_(dir_is_root),
      snapshot_link_dest_(snapshot_link_dest) {
  short_disabled_.reserve(8);
  short_disabled_.append(kShortDisabled.data(), kShortDisabled.size());
  if (settings_.no_overwrite) short_disabled_.push_back('b');
  if (!dir_is_root_)
    short_disabled_.append(kShortDisabledBelowRoot.data(), kShortDisabledBelowRoot.size());
}

std::string LongOptionTable() {
  std::string table = "long_opts = {\n";
  for (const LongOptionEntry& e : kLongOptions) {
    const char* value = "-1";
    switch (e.check) {
      case kNoArgument: value = "0"; break;
      case kUnchecked: value = "1"; break;
      case kPathWhenReceiving: value = "2"; break;
      case kPathAlways: value = "3"; break;
      case kDisabled: break;
    }
    table += "  '" + std::string(e.name) + "': " + value + ",\n";
  }
  return table + "}\n";
}

std::optional<ArgCheck> OptionPolicy::LongOption(std::string_view name) const {
  auto it = std::lower_bound(std::begin(kLongOptions), std::end(kLongOptions), name,
                             [](const LongOptionEntry& e, std::string_view n) { return e.name < n; });
  if (it == std::end(kLongOptions) || it->name != name) return std::nullopt;
  ArgCheck check = it->check;
  // The admin's flags only ever turn options off; they never turn one on.
  if (name == "sender" && (settings_.access == Access::kWriteOnly || !sender_)) return kDisabled;
  if (settings_.no_delete && name.starts_with("remove")) return kDisabled;
  // A sender never deletes because of --delete*, so a pull keeps them (README, differences 12;
  // openrsync sends --delete-before to the sender). In rsync 3.5.0 files are deleted only by the generator
  // (generator.c delete_in_dir/do_delete_pass, delete.c delete_item, backup.c), which runs in
  // do_recv (main.c); a --sender server runs do_server_sender instead. There the options only
  // shape what is sent (options.c xfer_dirs, exclude.c sender-side rules for --delete-excluded,
  // flist.c aborting on an I/O error). --remove-source-files does delete on the sender
  // (sender.c), so it stays refused above.
  if (settings_.no_delete && name.starts_with("delete") && !sender_) return kDisabled;
  if (it->short_form != 0 && short_disabled_.find(it->short_form) != std::string::npos)
    return kDisabled;
  if (settings_.access == Access::kReadOnly && name == "log-file") return kDisabled;
  if (settings_.no_overwrite && (name == "log-file" || name == "partial-dir" ||
                                 name == "delay-updates" || name == "backup-dir"))
    return kDisabled;
  if (!dir_is_root_ && name == "copy-unsafe-links") return kDisabled;
  // Snapshot mode (-snapshots). A pull reads snapshots that nothing may change: it never removes
  // what it sent, nor appends to a log file inside one. A push's --log-file would be opened in
  // the new snapshot; refused too, as it records nothing the session log lacks. Every other
  // option of a push is confined by construction at the overlay level: rsync's view holds only
  // the new snapshot (latest below, read-only to the kernel, and the changes above), so paths
  // (--backup-dir, --partial-dir, --temp-dir, --*-dest, --files-from) resolve in it and writes
  // (--inplace, --append, --delete*, --chmod, --chown, -X, --fake-super) land in its upper layer.
  if (settings_.snapshots && (name.starts_with("remove") || name == "log-file")) return kDisabled;
  // The link-dest level shares inodes with latest through rsync's own --link-dest, and nothing
  // below rsync keeps it off them: --inplace would write into a linked file, and --append on a
  // --link-dest basis writes after a hole (the measurement).
  if (snapshot_link_dest_ && (name == "inplace" || name == "append")) return kDisabled;
  return check;
}

bool OptionPolicy::ShortAllowed(char c) const {
  return kShortNoArgument.find(c) != std::string_view::npos &&
         short_disabled_.find(c) == std::string::npos;
}

bool OptionPolicy::IsShortCluster(std::string_view word, bool* relative) const {
  if (word.size() < 2 || word[0] != '-') return false;
  size_t pos = 1;
  while (pos < word.size() && ShortAllowed(word[pos])) ++pos;
  size_t letters_end = pos;
  if (pos < word.size()) {
    // The capability blob: e, digits, a dot, word characters, to the end.
    if (word[pos] != 'e') return false;
    ++pos;
    while (pos < word.size() && IsAsciiDigit(word[pos])) ++pos;
    if (pos >= word.size() || word[pos] != '.') return false;
    ++pos;
    while (pos < word.size() && IsAsciiWordChar(word[pos])) ++pos;
    if (pos != word.size()) return false;
  }
  if (word.substr(1, letters_end - 1).find('R') != std::string_view::npos) *relative = true;
  return true;
}

bool OptionPolicy::IsShortWithNumber(std::string_view word) const {
  if (word.size() < 3 || word[0] != '-') return false;
  if (kShortWithNumber.find(word[1]) == std::string_view::npos ||
      short_disabled_.find(word[1]) != std::string::npos)
    return false;
  return std::all_of(word.begin() + 2, word.end(), IsAsciiDigit);
}

char OptionPolicy::DisabledShortOption(std::string_view word) const {
  if (word.empty() || word[0] != '-') return 0;
  size_t pos = 1;
  while (pos < word.size() && ShortAllowed(word[pos])) ++pos;
  if (pos < word.size() && short_disabled_.find(word[pos]) != std::string::npos) return word[pos];
  return 0;
}

}  // namespace rrsync
