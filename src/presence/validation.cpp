// Client id and message checks. Reasons are written for the person reading a 400 in a terminal.
#include "pulse/presence/validation.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "pulse/presence/limits.hpp"

namespace pulse::presence {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_id_char(char c) noexcept {
  return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

// "'x'" for printable ASCII, "byte 0x07" otherwise: never echo raw control or non-ASCII bytes.
std::string describe_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  if (byte == 0x20) return "a space";
  return fmt::format("byte 0x{:02X}", byte);
}

// Bytes in the UTF-8 sequence introduced by `lead`, or 0 if it cannot start one.
int sequence_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, overlong 2-byte lead (C0, C1), or beyond U+10FFFF
}

}  // namespace

std::optional<std::string> client_id_error(std::string_view id) {
  if (id.empty()) return "id is empty: use 1 to 64 characters of A-Z a-z 0-9 . _ -";
  if (id.size() > kMaxIdBytes) {
    return fmt::format("id is {} characters long; at most {} are allowed", id.size(), kMaxIdBytes);
  }
  if (!is_alnum(id.front())) {
    return fmt::format("id must start with a letter or a digit, not {}", describe_byte(id.front()));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (!is_id_char(id[i])) {
      return fmt::format("id contains {} at position {}; only A-Z a-z 0-9 . _ - are allowed", describe_byte(id[i]),
                         i + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> message_error(std::string_view message) {
  if (message.size() > kMaxMessageBytes) {
    return fmt::format("msg is {} bytes long; at most {} are allowed", message.size(), kMaxMessageBytes);
  }
  if (!is_valid_utf8(message)) return "msg is not valid UTF-8";
  for (std::size_t i = 0; i < message.size(); ++i) {
    const auto byte = static_cast<unsigned char>(message[i]);
    // Control characters would let a message rewrite a terminal or forge log lines.
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
      return fmt::format("msg contains the control character 0x{:02X} at byte {}", byte, i + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> remote_addr_error(std::string_view remote_addr) {
  if (remote_addr.size() > kMaxRemoteAddrBytes) {
    return fmt::format("remote_addr is {} bytes long; at most {} are allowed", remote_addr.size(), kMaxRemoteAddrBytes);
  }
  for (std::size_t i = 0; i < remote_addr.size(); ++i) {
    const auto byte = static_cast<unsigned char>(remote_addr[i]);
    if (byte <= 0x20 || byte >= 0x7f) {
      return fmt::format("remote_addr contains {} at position {}", describe_byte(remote_addr[i]), i + 1);
    }
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = sequence_length(lead);
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) return false;
    std::uint32_t code_point = length == 1 ? lead : lead & (0x7Fu >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0u) != 0x80u) return false;
      code_point = (code_point << 6) | (next & 0x3Fu);
    }
    // Overlong 3- and 4-byte forms, UTF-16 surrogates, and code points past Unicode's range.
    if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) return false;
    if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

}  // namespace pulse::presence
