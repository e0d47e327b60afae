// The client-side ~/.ssh/config stanza that pins a backup login to one key and no forwarding.
#ifndef RRSYNC_ADMIN_SSH_CONFIG_H_
#define RRSYNC_ADMIN_SSH_CONFIG_H_

#include <string>

namespace rrsync {

struct SshConfigSpec {
  std::string alias;     // the Host name the backup job uses
  std::string host;      // HostName
  std::string key_file;  // IdentityFile (a leading ~/ is kept for ssh to expand)
  std::string user;      // User; empty leaves it out
  int port = 0;          // Port; 0 leaves it out
};

// Renders the stanza: Host, HostName, [User], [Port], IdentityFile, then IdentitiesOnly yes (so
// an agent cannot offer a different, unrestricted key first), ForwardAgent no, ForwardX11 no,
// BatchMode yes (a backup must fail, not prompt). Returns false and fills *err for a value that
// would break out of its line or change the meaning of the file.
bool FormatSshConfigStanza(const SshConfigSpec& spec, std::string* stanza, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_SSH_CONFIG_H_
