// Routing a client's request to one of several modules (-modules=A,B), and the per-module
// refuse/allow option lists. Pure: text in, text out.
#ifndef RRSYNC_MODULE_ROUTE_H_
#define RRSYNC_MODULE_ROUTE_H_

#include <optional>
#include <string>
#include <vector>

namespace rrsync {

struct Route {
  enum class Kind {
    kModule,       // serve `module` with `command`
    kListModules,  // a pull of the top ("rsync host:"): show the modules
    kPassThrough,  // not an rsync server command rrsync can route: let Decide refuse or answer it
    kRefuse,       // print `refusal`
  };
  Kind kind = Kind::kRefuse;
  std::string module;
  std::string command;  // SSH_ORIGINAL_COMMAND with the module component removed from each path
  std::string refusal;
};

// With -modules, the first component of every file argument names the module: "logs/2026/"
// becomes module "logs" and argument "2026/"; "logs" and "logs/" become ".". File arguments are
// found as Decide finds them: the words after the "." word, skipping the separate argument of a
// long option that takes one. All of them must name the same module from `modules`. Option
// arguments (--link-dest, --files-from, ...) are left as they are: they name paths inside the
// chosen module.
Route RouteRequest(const std::string& command, const std::vector<std::string>& modules);

// The refusal for the first option of `command` (an rsync server command, before Decide) that
// matches a term of `refuse` and none of `allow`, or nullopt. Terms follow rsyncd.conf: a long
// name ("compress"), a letter ("z"), or a pattern ("delete-*") matched against long names;
// "delete" also matches every --delete-* option, "a"/"archive" matches what -a implies.
// --server and --sender are never matched: direction is set by read only / write only.
std::optional<std::string> RefusedOption(const std::string& command,
                                         const std::vector<std::string>& refuse,
                                         const std::vector<std::string>& allow);

}  // namespace rrsync

#endif  // RRSYNC_MODULE_ROUTE_H_
