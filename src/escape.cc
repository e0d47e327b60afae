#include "escape.h"

#include <cstdio>

namespace rrsync {

char32_t DecodeUtf8(std::string_view text, size_t pos, size_t* length) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  *length = 1;
  if (lead < 0x80) return lead;
  size_t need;
  char32_t cp;
  char32_t min;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0xDC00 + lead;
  }
  for (size_t i = 1; i <= need; ++i) {
    if (pos + i >= text.size() || (byte(pos + i) & 0xC0) != 0x80) return 0xDC00 + lead;
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid, as in Python.
  if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0xDC00 + lead;
  *length = need + 1;
  return cp;
}

namespace {

void AppendHex(std::string* out, const char* format, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), format, value);
  *out += buf;
}

// Code points a terminal could act on: C1 controls, line separators and bidi controls.
bool IsDangerousCodePoint(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
         cp == 0x200F || cp == 0x061C;
}

// An approximation of Python's str.isprintable() for code points past ASCII: separators, format
// characters, private use and surrogates are not printable.
bool PythonPrintable(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  if (cp <= 0xA0 || cp == 0xAD) return false;
  if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
      (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF ||
      (cp >= 0xFFF9 && cp <= 0xFFFB) || cp == 0xFFFE || cp == 0xFFFF)
    return false;
  if (cp >= 0xD800 && cp <= 0xF8FF) return false;  // surrogates and private use
  if (cp >= 0xF0000) return false;
  return true;
}

}  // namespace

std::string EscapeUntrusted(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  size_t pos = 0;
  while (pos < text.size()) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    size_t length;
    char32_t cp = DecodeUtf8(text, pos, &length);
    if (cp >= 0xDC80 && cp <= 0xDCFF && length == 1 && static_cast<unsigned char>(text[pos]) >= 0x80) {
      AppendHex(&out, "\\x%02x", static_cast<unsigned char>(text[pos]));
    } else if (cp < 0x20 || cp == 0x7F) {
      AppendHex(&out, "\\x%02x", static_cast<unsigned>(cp));
    } else if (IsDangerousCodePoint(cp)) {
      AppendHex(&out, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      out.append(text, pos, length);
    }
    pos += length;
  }
  return out;
}

std::string EscapeAndShorten(std::string_view text, size_t max_bytes) {
  std::string escaped = EscapeUntrusted(text, static_cast<size_t>(-1) / 2);
  if (escaped.size() <= max_bytes) return escaped;
  // Cut on character boundaries: never inside a UTF-8 sequence.
  auto boundary = [&](size_t pos) {
    while (pos > 0 && (static_cast<unsigned char>(escaped[pos]) & 0xC0) == 0x80) --pos;
    return pos;
  };
  size_t head = boundary(max_bytes * 3 / 4);
  size_t tail = boundary(escaped.size() - max_bytes / 4);
  return escaped.substr(0, head) + "..." + escaped.substr(tail);
}

std::string PythonRepr(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length;
    char32_t cp = DecodeUtf8(text, pos, &length);
    if (cp == '\\') {
      out += "\\\\";
    } else if (cp == static_cast<char32_t>(quote)) {
      out += '\\';
      out += quote;
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (PythonPrintable(cp)) {
      out.append(text, pos, length);
    } else if (cp < 0x100) {
      AppendHex(&out, "\\x%02x", static_cast<unsigned>(cp));
    } else if (cp < 0x10000) {
      AppendHex(&out, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      AppendHex(&out, "\\U%08x", static_cast<unsigned>(cp));
    }
    pos += length;
  }
  out += quote;
  return out;
}

}  // namespace rrsync
