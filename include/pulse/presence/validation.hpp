// Validation of what clients send: ids and messages. Each check says why, for the 400 body.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::presence {

// nullopt when `id` is a valid client id (1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter
// or digit); otherwise a sentence saying what is wrong with it.
[[nodiscard]] std::optional<std::string> client_id_error(std::string_view id);

// nullopt when `message` is acceptable (at most kMaxMessageBytes of UTF-8, no control characters
// but tab); otherwise why not.
[[nodiscard]] std::optional<std::string> message_error(std::string_view message);

// nullopt when `remote_addr` could be a peer address the server recorded: at most
// kMaxRemoteAddrBytes of printable ASCII without spaces (or empty); otherwise why not. Only input
// the server did not produce itself (the state file) needs this check.
[[nodiscard]] std::optional<std::string> remote_addr_error(std::string_view remote_addr);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace pulse::presence
