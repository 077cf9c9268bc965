// Bearer tokens (RFC 6750): the b64token syntax, the token a request presents (the
// `Authorization: Bearer` header, else the `token` query parameter), and a set of accepted
// tokens compared in constant time. Generic HTTP: which paths need a token is the caller's policy.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/http/request.hpp"

namespace pulse::http {

// Longest token accepted, in bytes. Every comparison runs over this many bytes whatever the
// lengths, so it is also the cost of one comparison. `openssl rand -hex 32` is 64.
inline constexpr std::size_t kMaxTokenBytes = 256;
// Tokens one set may hold (a few, so that one can be rotated while the old one still works):
// each request is compared with all of them.
inline constexpr std::size_t kMaxTokensPerSet = 32;
// The query parameter that carries a token where no header can (a browser's EventSource, the
// simplest curl line).
inline constexpr std::string_view kTokenQueryParameter = "token";

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750 section 2.1):
// printable ASCII, no spaces, no quotes, "=" only at the end.
[[nodiscard]] bool is_b64token(std::string_view text) noexcept;

// The token of an Authorization value "Bearer <b64token>": the scheme is case-insensitive
// (RFC 9110 section 11.1), then one or more spaces, then the token, then optional white space.
// nullopt for another scheme or a malformed token.
[[nodiscard]] std::optional<std::string_view> parse_bearer(std::string_view authorization) noexcept;

// The token a request presents: the Authorization header's bearer token when it has one, else
// the `token` query parameter (percent-decoded; "" when given empty). nullopt when it presents
// none. A header of another scheme (a proxy's Basic credentials) does not hide the query.
[[nodiscard]] std::optional<std::string> presented_token(const Request& request);

// Equality of two strings of at most kMaxTokenBytes that does not stop at the first difference
// and does not stop early on a length difference: every one of kMaxTokenBytes bytes is compared,
// the lengths folded into the result. Longer input is unequal to anything.
[[nodiscard]] bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

// The request-target with the value of every `token` query parameter replaced by "REDACTED", so
// that logs never hold a secret; nullopt when it has none (the common case allocates nothing).
[[nodiscard]] std::optional<std::string> redact_token_parameter(std::string_view target);

// The accepted tokens of one kind. Immutable after construction; any thread may call contains().
class TokenSet {
 public:
  TokenSet() = default;
  // Throws std::invalid_argument (never quoting the token) for a token that is not a b64token,
  // is longer than kMaxTokenBytes, or for more than kMaxTokensPerSet tokens.
  explicit TokenSet(const std::vector<std::string>& tokens);

  [[nodiscard]] bool empty() const noexcept { return secrets_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return secrets_.size(); }

  // Whether `candidate` is one of the tokens. Compares it with every token, each over
  // kMaxTokenBytes: the time depends on how many tokens there are, never on their content, their
  // lengths, or which (if any) matched.
  [[nodiscard]] bool contains(std::string_view candidate) const noexcept;

 private:
  // Padded with zeros to kMaxTokenBytes at start-up, so a comparison never branches on a secret's
  // length (a b64token has no zero byte, and the length is compared too).
  struct Secret {
    std::array<unsigned char, kMaxTokenBytes> bytes{};
    std::size_t length = 0;
  };
  std::vector<Secret> secrets_;
};

}  // namespace pulse::http
