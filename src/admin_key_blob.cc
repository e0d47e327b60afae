#include "admin_key_blob.h"

#include <cstdint>

#include "audit_log.h"
#include "base64.h"

namespace rrsync {

namespace {

// Reads one SSH wire-format string (uint32 length, bytes) at *pos.
bool ReadWireString(std::string_view blob, size_t* pos, std::string_view* out) {
  if (*pos > blob.size() || blob.size() - *pos < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + *pos);
  const uint32_t length =
      (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  *pos += 4;
  if (blob.size() - *pos < length) return false;
  *out = blob.substr(*pos, length);
  *pos += length;
  return true;
}

// The bits of an mpint (a big-endian two's complement integer; a leading zero byte only keeps
// a positive number's top bit from reading as a sign).
int MpintBits(std::string_view mpint) {
  size_t i = 0;
  while (i < mpint.size() && mpint[i] == '\0') ++i;
  if (i == mpint.size()) return 0;
  int bits = static_cast<int>((mpint.size() - i) * 8);
  for (unsigned char top = static_cast<unsigned char>(mpint[i]); (top & 0x80) == 0; top <<= 1)
    --bits;
  return bits;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string KeyFingerprint(const PublicKey& key) {
  // The same digest the session log records for the key sshd accepted (audit_log.h).
  return Sha256Fingerprint(key.blob);
}

int KeyBits(const PublicKey& key) {
  std::string blob;
  if (!DecodeBase64(key.blob, &blob)) return 0;
  size_t pos = 0;
  std::string_view type;
  if (!ReadWireString(blob, &pos, &type) || type != key.type) return 0;
  std::string_view field;
  if (type == "ssh-rsa") {
    std::string_view exponent;
    if (!ReadWireString(blob, &pos, &exponent) || !ReadWireString(blob, &pos, &field)) return 0;
    return MpintBits(field);
  }
  if (type == "ssh-dss") return ReadWireString(blob, &pos, &field) ? MpintBits(field) : 0;
  if (type == "ssh-ed25519" || type == "sk-ssh-ed25519@openssh.com")
    return ReadWireString(blob, &pos, &field) && field.size() == 32 ? 256 : 0;
  if (StartsWith(type, "ecdsa-sha2-") || type == "sk-ecdsa-sha2-nistp256@openssh.com") {
    if (!ReadWireString(blob, &pos, &field)) return 0;
    if (field == "nistp256") return 256;
    if (field == "nistp384") return 384;
    if (field == "nistp521") return 521;
    return 0;
  }
  return 0;  // certificates and unknown algorithms: not judged here
}

std::string KeyAlgorithmName(const PublicKey& key) {
  if (key.type == "ssh-rsa") return "RSA";
  if (key.type == "ssh-dss") return "DSA";
  if (key.type == "ssh-ed25519") return "ED25519";
  if (key.type == "sk-ssh-ed25519@openssh.com") return "ED25519-SK";
  if (key.type == "sk-ecdsa-sha2-nistp256@openssh.com") return "ECDSA-SK";
  if (StartsWith(key.type, "ecdsa-sha2-")) return "ECDSA";
  return key.type;
}

bool CheckKeyStrength(const PublicKey& key, std::string* err) {
  if (key.type == "ssh-dss" || StartsWith(key.type, "ssh-dss-cert")) {
    *err = "DSA keys are refused (1024 bits, disabled in OpenSSH): make an ed25519 key";
    return false;
  }
  const int bits = KeyBits(key);
  if (bits == 0 && !StartsWith(key.type, "ssh-rsa-cert") &&
      key.type.find("-cert-") == std::string::npos) {
    *err = "the " + key.type + " key's blob does not parse";
    return false;
  }
  if (key.type == "ssh-rsa" && bits < 2048) {
    *err = "RSA keys under 2048 bits are refused (this one has " + std::to_string(bits) +
           "): make an ed25519 key";
    return false;
  }
  return true;
}

}  // namespace rrsync
