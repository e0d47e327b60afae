// What a public key's blob says about it: its SHA256 fingerprint and its size in bits, read from
// the blob itself (RFC 4253 section 6.6, RFC 5656, RFC 8709) rather than from ssh-keygen.
#ifndef RRSYNC_ADMIN_KEY_BLOB_H_
#define RRSYNC_ADMIN_KEY_BLOB_H_

#include <string>
#include <string_view>

#include "admin_authorized_keys.h"

namespace rrsync {

// "SHA256:" and the unpadded base64 of the blob's digest, as `ssh-keygen -l` prints it; empty
// when the blob is not valid base64.
std::string KeyFingerprint(const PublicKey& key);

// The key's size as ssh-keygen -l counts it (an RSA or DSA modulus' bits, an ECDSA curve's,
// 256 for Ed25519), or 0 when the blob does not parse or does not match the key's type.
int KeyBits(const PublicKey& key);

// The ssh-keygen name of the key's algorithm ("RSA", "ED25519", "ECDSA", "DSA", "ED25519-SK",
// "ECDSA-SK", or the type itself for others).
std::string KeyAlgorithmName(const PublicKey& key);

// Refuses keys that rrsync-admin must not install: DSA (OpenSSH disables it, 1024-bit only) and
// RSA under 2048 bits, and a blob whose size cannot be read. The message names the key.
bool CheckKeyStrength(const PublicKey& key, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_KEY_BLOB_H_
