// Which rsync server options a client may send, and how their arguments are checked.
#ifndef RRSYNC_OPTION_POLICY_H_
#define RRSYNC_OPTION_POLICY_H_

#include <optional>
#include <string>
#include <string_view>

#include "command_line.h"

namespace rrsync {

// How a long option's argument is treated (upstream's 0/1/2/3/-1).
enum class ArgCheck {
  kNoArgument,          // the option takes no argument
  kUnchecked,           // the argument is passed on (after upstream's generic path tidying)
  kPathWhenReceiving,   // a path, checked against DIR when the client pushes
  kPathAlways,          // a path, always checked against DIR
  kDisabled,            // refused: "option --X has been disabled on this server."
};

// The long-option table every session starts from, before the admin's flags apply, in
// upstream's format (support/rrsync's `long_opts`: one "  'NAME': N," line per option, N being
// 0 no argument, 1 unchecked, 2 a path when receiving, 3 always a path, -1 disabled), for
// `rrsync --list-options`.
std::string LongOptionTable();

// The option table for one session: upstream's lists with the admin's flags applied.
class OptionPolicy {
 public:
  // `sender` is true for a pull; `dir_is_root` when DIR is "/".
  // `snapshot_link_dest` for a snapshot push at the link-dest level (snapshot_store.h).
  OptionPolicy(const Settings& settings, bool sender, bool dir_is_root,
               bool snapshot_link_dest = false);

  // The treatment of long option `name` (without "--"), or nullopt for an unknown option.
  std::optional<ArgCheck> LongOption(std::string_view name) const;

  // Whether `word` is a cluster of allowed short options without arguments, optionally ending
  // in rsync's "e<digits>.<capabilities>" blob (e.g. "-vlogDtpre.iLsfxCIvu"). Sets *relative
  // when the cluster's own letters include R.
  bool IsShortCluster(std::string_view word, bool* relative) const;

  // Whether `word` is an allowed short option with a number ("-B1024", "-@1").
  bool IsShortWithNumber(std::string_view word) const;

  // The first disabled letter in a cluster of allowed letters ("-vs" gives 's'), or 0.
  char DisabledShortOption(std::string_view word) const;

 private:
  bool ShortAllowed(char c) const;

  const Settings& settings_;
  bool sender_;
  bool dir_is_root_;
  bool snapshot_link_dest_;
  std::string short_disabled_;
};

}  // namespace rrsync

#endif  // RRSYNC_OPTION_POLICY_H_
