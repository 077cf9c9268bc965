// Token files (--heartbeat-token-file, --read-token-file): one bearer token a line, so that no
// secret shows in `ps` and a new token can work beside the old one while clients move over.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/app/config.hpp"

namespace pulse::app {

// A token file holds a few lines; anything larger is a wrong path, not a list of tokens.
inline constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;

// What a token must be, for messages that never quote the token itself.
[[nodiscard]] std::string token_rule();
// A b64token (RFC 6750) of at most http::kMaxTokenBytes.
[[nodiscard]] bool is_valid_token(std::string_view token);

// The tokens of `text`, in order: one a line; blank lines and white space around a token
// (CR of CRLF files included) ignored. Throws ConfigError naming `flag`, `path` and the line of a
// bad token, and when there is no token at all.
[[nodiscard]] std::vector<std::string> parse_token_lines(std::string_view text, const std::string& flag,
                                                         const std::string& path);

// Reads `path` (at most kMaxTokenFileBytes) and parses it. Throws ConfigError naming `flag`:
// unreadable (with the system's reason), too large, a bad line, no token.
[[nodiscard]] std::vector<std::string> read_token_file(const std::string& flag, const std::string& path);

}  // namespace pulse::app
