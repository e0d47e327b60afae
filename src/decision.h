// The one pure decision: rrsync's settings plus the client's SSH_ORIGINAL_COMMAND become either
// the rsync server command to run or the reason it is refused.
#ifndef RRSYNC_DECISION_H_
#define RRSYNC_DECISION_H_

#include <optional>
#include <string>
#include <vector>

#include "command_line.h"
#include "filesystem.h"
#include "path_resolution.h"
#include "rsync_features.h"

namespace rrsync {

// A path the decision approved that must be pinned by descriptor before rsync runs, so that a
// component swapped after the check cannot redirect rsync (upstream's fix for CVE-2026-53783).
struct PathPin {
  std::string option;          // "arg" for a file argument, else the option ("--partial-dir")
  std::string original;        // the path as the client sent it, for messages
  std::string path;            // the checked path: absolute, or relative to DIR; trailer removed
  std::string real_path;       // its resolved real path, inside DIR
  std::string trailer;         // "", "/" or "/." as the client wrote it
  bool absolute_form = false;  // the client named DIR's own absolute path (-absolute)
};

// One word of the rsync command line: fixed text, or `prefix` plus a pinned path.
struct ServerWord {
  std::string text;            // the word, or the prefix ("--partial-dir=") of a pinned path
  std::optional<PathPin> pin;  // when set, the word is text + the pinned spelling
};

// An rsync server session the client may have.
struct Request {
  bool sender = false;            // a pull: rsync --server --sender
  bool relative = false;          // the client asked for -R (decides how sender paths are pinned)
  std::vector<ServerWord> words;  // argv after the rsync path: --server ... -- . ARGS
  std::vector<std::string> omitted;  // options rrsync would add that this rsync lacks
};

enum class Verdict {
  kRunRsync,           // run rsync with `request`
  kConnectivityCheck,  // the command was "true": exit 0 silently
  kProbe,              // rrsync-admin's probe: answer with version and mode
  kRefuse,             // print `refusal` and exit 1
};

struct Decision {
  Verdict verdict = Verdict::kRefuse;
  Request request;
  std::string refusal;  // the message after "rrsync error: "
};

// Everything the decision needs to know about this machine and session.
struct DecisionInput {
  const Settings* settings = nullptr;
  std::string dir;                     // DIR's real path, which is also the working directory
  RsyncFeatures features;              // what the configured rsync supports
  std::optional<std::string> command;  // SSH_ORIGINAL_COMMAND, if set
  // Snapshot mode (-snapshots), for a push: `dir` is the basis the new snapshot starts from (the
  // overlay level) or the incoming tree (the link-dest level). At the link-dest level rsync gets
  // --link-dest=<snapshot_link_dest> (latest's absolute path) and --confine-root=<confine_root>
  // (DIR), and what could write through a hard link into an earlier snapshot is refused.
  std::string snapshot_link_dest;
  std::string confine_root;  // empty: `dir`
  // The bounds of each glob expansion. rrsync keeps the defaults; the fuzzer lowers them so
  // that a pattern reaching them costs milliseconds, not seconds, per input.
  GlobLimits glob_limits;
};

// The refusal a key with `access` gives a session in this direction (`sender`: a pull), as
// upstream words it; nothing when the key may go this way. Decide checks it first; a secluded-args
// command and the module list check it before anything else is read or made.
std::optional<std::string> DirectionRefusal(Access access, bool sender);

// Decides what the client may do. Reads the filesystem only through `fs` (realpath and glob of
// the client's paths inside DIR); creates, opens and changes nothing.
Decision Decide(const DecisionInput& input, Filesystem& fs);

}  // namespace rrsync

#endif  // RRSYNC_DECISION_H_
