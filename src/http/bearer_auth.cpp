// Bearer tokens: the b64token grammar, where a request carries its token, and the comparison that
// takes the same time whichever byte differs.
#include "pulse/http/bearer_auth.hpp"

#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace pulse::http {
namespace {

constexpr std::string_view kScheme = "Bearer";
constexpr std::string_view kRedacted = "REDACTED";

using Padded = std::array<unsigned char, kMaxTokenBytes>;

bool is_token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

// "Bearer" as the scheme of `value` (leading white space already trimmed): followed by a space or
// nothing, so that "Bearerx" is another scheme.
bool has_bearer_scheme(std::string_view value) noexcept {
  return value.size() >= kScheme.size() && iequals(value.substr(0, kScheme.size()), kScheme) &&
         (value.size() == kScheme.size() || value[kScheme.size()] == ' ');
}

// Caller guarantees text.size() <= kMaxTokenBytes.
Padded pad(std::string_view text) noexcept {
  Padded padded{};
  std::memcpy(padded.data(), text.data(), text.size());
  return padded;
}

// Every byte of both buffers, always, then the lengths: no exit at the first difference. The
// reads are volatile so that the optimiser may not turn the OR-reduction into a loop that stops
// once the answer is known (the same defence as OpenSSL's CRYPTO_memcmp).
bool padded_equal(const Padded& a, std::size_t a_length, const Padded& b, std::size_t b_length) noexcept {
  const volatile unsigned char* x = a.data();
  const volatile unsigned char* y = b.data();
  std::size_t difference = a_length ^ b_length;
  for (std::size_t i = 0; i < kMaxTokenBytes; ++i) difference |= static_cast<std::size_t>(x[i] ^ y[i]);
  return difference == 0;
}

// Whether a query parameter's (still encoded) name decodes to "token".
bool is_token_parameter(std::string_view name) {
  if (name == kTokenQueryParameter) return true;
  if (name.find_first_of("%+") == std::string_view::npos) return false;
  const auto decoded = percent_decode(name, /*plus_as_space=*/true);
  return decoded && *decoded == kTokenQueryParameter;
}

}  // namespace

bool is_b64token(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && is_token_char(text[i])) ++i;
  if (i == 0) return false;
  while (i < text.size() && text[i] == '=') ++i;
  return i == text.size();
}

std::optional<std::string_view> parse_bearer(std::string_view authorization) noexcept {
  std::string_view value = trim_ows(authorization);
  if (!has_bearer_scheme(value)) return std::nullopt;
  value.remove_prefix(kScheme.size());
  if (value.empty()) return std::nullopt;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (!is_b64token(value)) return std::nullopt;
  return value;
}

std::optional<std::string> presented_token(const Request& request) {
  if (const auto header = request.header("Authorization")) {
    if (const auto token = parse_bearer(*header)) return std::string(*token);
    // A malformed bearer credential was presented, and is wrong: it must not fall back to the
    // query, nor read as "no token" (the client would be told to send one it did send).
    if (has_bearer_scheme(trim_ows(*header))) return std::string();
  }
  return request.query_param(kTokenQueryParameter);
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() > kMaxTokenBytes || b.size() > kMaxTokenBytes) return false;
  return padded_equal(pad(a), a.size(), pad(b), b.size());
}

std::optional<std::string> redact_token_parameter(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::optional<std::string> redacted;
  std::size_t copied = 0;  // target[0, copied) is already in `redacted`
  for_each_form_pair(target.substr(question + 1), [&](const FormPair& pair) {
    if (pair.value.empty() || !is_token_parameter(pair.name)) return true;
    // The pair's views point into `target`: replace the value in place, keep every other byte.
    const auto start = static_cast<std::size_t>(pair.value.data() - target.data());
    if (!redacted) redacted.emplace();
    redacted->append(target.substr(copied, start - copied));
    redacted->append(kRedacted);
    copied = start + pair.value.size();
    return true;
  });
  if (redacted) redacted->append(target.substr(copied));
  return redacted;
}

TokenSet::TokenSet(const std::vector<std::string>& tokens) {
  if (tokens.size() > kMaxTokensPerSet) {
    throw std::invalid_argument(fmt::format("{} tokens; at most {} are allowed", tokens.size(), kMaxTokensPerSet));
  }
  secrets_.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (!is_b64token(token) || token.size() > kMaxTokenBytes) {
      throw std::invalid_argument(
          fmt::format("token {} is not 1 to {} characters of A-Z a-z 0-9 - . _ ~ + / (then = only at the end)", i + 1,
                      kMaxTokenBytes));
    }
    Secret secret;
    secret.bytes = pad(token);
    secret.length = token.size();
    secrets_.push_back(secret);
  }
}

bool TokenSet::contains(std::string_view candidate) const noexcept {
  // Depends only on what the client sent, so it tells the client nothing it did not know.
  if (candidate.size() > kMaxTokenBytes) return false;
  const Padded padded = pad(candidate);
  bool found = false;
  for (const Secret& secret : secrets_) {
    // `|=`, not `||` nor a break: every token is compared, whichever matches.
    found |= padded_equal(secret.bytes, secret.length, padded, candidate.size());
  }
  return found;
}

}  // namespace pulse::http
