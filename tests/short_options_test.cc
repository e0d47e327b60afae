// The short options a client may send, letter by letter against upstream's lists: an added
// letter (say T, which is --temp-dir with a path nobody would check) fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "command_line.h"
#include "option_policy.h"

namespace rrsync {
namespace {

// Upstream's letters: the four strings of rsync 3.5.0's /usr/bin/rrsync ("DO NOT REMOVE ANY").
struct UpstreamLetters {
  std::string no_arg;           // short_no_arg
  std::string with_num;         // short_with_num
  std::string disabled;         // short_disabled
  std::string disabled_subdir;  // short_disabled_subdir: also refused when DIR is not "/"
};

// A copy for machines without the rsync package, each letter with its long name, so that a
// reader sees why it is harmless: none takes an argument, and none names a path.
//   A --acls           C --cvs-exclude     D --devices --specials   E --executability
//   H --hard-links     I --ignore-times    J --omit-link-times      K --keep-dirlinks (*)
//   L --copy-links (*) N --crtimes         O --omit-dir-times       R --relative
//   S --sparse         U --atimes          W --whole-file           X --xattrs
//   b --backup (**)    c --checksum        d --dirs                 g --group
//   k --copy-dirlinks (*)                  l --links                m --prune-empty-dirs
//   n --dry-run        o --owner           p --perms                q --quiet
//   r --recursive      s --secluded-args (disabled: it would make rsync read unchecked words)
//   t --times          u --update          v --verbose              x --one-file-system
//   y --fuzzy          z --compress
//   with a number: @ --modify-window, B --block-size
//   (*) follow symlinks out of DIR: refused unless DIR is "/"   (**) refused by -no-overwrite
const UpstreamLetters kCopy = {"ACDEHIJKLNORSUWXbcdgklmnopqrstuvxyz", "@B", "s", "KLk"};

// The same strings read from the installed script, when there is one (diverted to
// rrsync.distrib while the rrsync package is installed).
bool ReadUpstream(UpstreamLetters* letters) {
  std::string script;
  for (const char* path : {"/usr/bin/rrsync.distrib", "/usr/bin/rrsync"}) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    script = text.str();
    if (script.starts_with("#!") && script.find("short_no_arg") != std::string::npos) break;
  }
  auto value = [&](const std::string& name, std::string* out) {
    std::smatch m;
    if (!std::regex_search(script, m, std::regex("\\n" + name + " = '([^']*)'"))) return false;
    *out = m[1];
    return true;
  };
  return value("short_no_arg", &letters->no_arg) && value("short_with_num", &letters->with_num) &&
         value("short_disabled", &letters->disabled) &&
         value("short_disabled_subdir", &letters->disabled_subdir);
}

bool Has(const std::string& set, char c) { return set.find(c) != std::string::npos; }

// Every printable ASCII byte but '-', as the letter of a one-letter cluster.
std::string AllLetters() {
  std::string all;
  for (char c = '!'; c <= '~'; ++c) {
    if (c != '-') all.push_back(c);
  }
  return all;
}

void ExpectLettersAre(const UpstreamLetters& upstream) {
  for (bool dir_is_root : {true, false}) {
    for (bool no_overwrite : {false, true}) {
      for (bool sender : {false, true}) {
        Settings settings;
        settings.no_overwrite = no_overwrite;
        OptionPolicy policy(settings, sender, dir_is_root);
        std::string disabled = upstream.disabled;
        if (no_overwrite) disabled += 'b';
        if (!dir_is_root) disabled += upstream.disabled_subdir;
        for (char c : AllLetters()) {
          SCOPED_TRACE(std::string("letter '") + c + "' root=" + (dir_is_root ? "yes" : "no") +
                       " no_overwrite=" + (no_overwrite ? "yes" : "no") +
                       " sender=" + (sender ? "yes" : "no"));
          const bool allowed = Has(upstream.no_arg, c) && !Has(disabled, c);
          bool relative = false;
          EXPECT_EQ(policy.IsShortCluster(std::string("-") + c, &relative), allowed);
          // Inside a cluster, and before the capability blob, the same answer.
          EXPECT_EQ(policy.IsShortCluster(std::string("-v") + c + "e.LsfxCIvu", &relative),
                    allowed);
          EXPECT_EQ(policy.IsShortWithNumber(std::string("-") + c + "1024"),
                    Has(upstream.with_num, c) && !Has(disabled, c));
          // A disabled letter is named as such (upstream's "option -X has been disabled").
          EXPECT_EQ(policy.DisabledShortOption(std::string("-v") + c),
                    Has(upstream.no_arg + upstream.with_num, c) && Has(disabled, c) ? c : 0);
        }
      }
    }
  }
}

TEST(ShortOptions, AreUpstreamsLetterByLetter) { ExpectLettersAre(kCopy); }

TEST(ShortOptions, AreThoseOfTheInstalledRsyncScript) {
  UpstreamLetters installed;
  if (!ReadUpstream(&installed)) {
    GTEST_SKIP() << "no /usr/bin/rrsync with upstream's option strings (the rsync package)";
  }
  // The copy above is rsync 3.5.0's; a newer rsync that changes a letter shows up here.
  EXPECT_EQ(installed.no_arg, kCopy.no_arg);
  EXPECT_EQ(installed.with_num, kCopy.with_num);
  EXPECT_EQ(installed.disabled, kCopy.disabled);
  EXPECT_EQ(installed.disabled_subdir, kCopy.disabled_subdir);
  ExpectLettersAre(installed);
}

}  // namespace
}  // namespace rrsync
