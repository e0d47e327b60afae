// SHA-256 (FIPS 180-4), enough to print an ssh key's fingerprint without linking a crypto
// library into the forced command.
#ifndef RRSYNC_SHA256_H_
#define RRSYNC_SHA256_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace rrsync {

// The SHA-256 digest of `data`.
std::array<uint8_t, 32> Sha256(std::string_view data);

}  // namespace rrsync

#endif  // RRSYNC_SHA256_H_
