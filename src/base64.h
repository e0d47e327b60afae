// Base64, as ssh writes keys in authorized_keys and sshd in SSH_USER_AUTH.
#ifndef RRSYNC_BASE64_H_
#define RRSYNC_BASE64_H_

#include <string>
#include <string_view>

namespace rrsync {

// Decodes standard base64 ("=" padding only at the end) into *bytes. Returns false for any other
// character or when nothing decodes.
bool DecodeBase64(std::string_view text, std::string* bytes);

}  // namespace rrsync

#endif  // RRSYNC_BASE64_H_
