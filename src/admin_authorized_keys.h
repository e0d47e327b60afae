// Reading, building and editing OpenSSH authorized_keys text. Pure: no file is touched here.
#ifndef RRSYNC_ADMIN_AUTHORIZED_KEYS_H_
#define RRSYNC_ADMIN_AUTHORIZED_KEYS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// The most rrsync-admin reads of one authorized keys file (and of the other files audit reads).
// A larger file is refused, not cut short: the lines past the limit still count for sshd.
inline constexpr size_t kMaxAuthorizedKeysSize = 8u << 20;

// Reads the rest of `fd` into *text (retrying on EINTR); false with *err set on an error or when
// it holds more than `limit` bytes (never a silent truncation).
bool ReadAllFd(int fd, size_t limit, std::string* text, std::string* err);

// Writes all of `text` to `fd` (retrying on EINTR and short writes).
bool WriteAllFd(int fd, const std::string& text);

// One option of a key line: `restrict` (no value) or `command="..."` (value unquoted).
struct KeyOption {
  std::string name;  // lower-cased, as sshd compares them
  std::string value;
  bool has_value = false;
};

// A public key: its algorithm name, base64 blob and free-text comment.
struct PublicKey {
  std::string type;
  std::string blob;
  std::string comment;
};

// One parsed key line of an authorized_keys file.
struct AuthorizedKey {
  std::vector<KeyOption> options;
  PublicKey key;

  // The option's value, or nullptr when the line does not carry it.
  const KeyOption* Find(std::string_view name) const;
};

// True for the key algorithms OpenSSH accepts in authorized_keys (plain and certificate forms).
bool IsKnownKeyType(std::string_view type);

// True when the line holds no key: empty, only blanks, or a `#` comment.
bool IsBlankOrComment(std::string_view line);

// Parses one authorized_keys line as sshd does: an optional comma-separated option list (values
// in double quotes, `\"` inside), then type, base64 blob and comment. Returns false and fills
// *err for a line sshd would not accept.
bool ParseAuthorizedKeyLine(std::string_view line, AuthorizedKey* key, std::string* err);

// Parses the contents of a `.pub` file: exactly one key line without options. Rejects private
// keys and option-carrying lines, whose installation would not be what the admin meant.
bool ParsePublicKeyText(std::string_view text, PublicKey* key, std::string* err);

// Quotes `word` for a POSIX shell when it needs it (single quotes; a `'` inside is refused by
// the callers, so none is escaped here). Plain words come back unchanged.
std::string ShellQuote(std::string_view word);

// Splits a command string into words the way a POSIX shell would for simple commands: blanks
// separate, '...' and "..." quote, backslash escapes. Returns false for unbalanced quotes or
// shell syntax (`;`, `|`, `&`, `$`, backquote, redirections) that a plain word split cannot
// represent.
bool SplitShellWords(std::string_view command, std::vector<std::string>* words, std::string* err);

// Renders a key line: options (values double-quoted with `"` and `\` escaped), key, comment.
std::string FormatAuthorizedKeyLine(const AuthorizedKey& key);

// What MergeAuthorizedKey did to the file text.
enum class MergeAction {
  kAdded,      // no line had the key: the new line was appended
  kReplaced,   // the first line with the key was replaced by the new line
  kUnchanged,  // the first line with the key already was the new line
};

struct MergeResult {
  std::string text;  // the new file contents
  MergeAction action = MergeAction::kAdded;
  int removed_duplicates = 0;  // further lines for the same key that were dropped
};

// Puts `new_line` (which holds `key`) into the authorized_keys text `existing`: the first line
// for the same key (type and blob) is replaced in place, later lines for it are removed (sshd
// would fall back to them when the first line's from= does not match), and every other line,
// including comments and lines it cannot parse, is kept byte for byte.
MergeResult MergeAuthorizedKey(std::string_view existing, const PublicKey& key,
                               const std::string& new_line);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_AUTHORIZED_KEYS_H_
