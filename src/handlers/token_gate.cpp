// TokenGate: the method says what access a request needs, the token sets whether it is guarded,
// the presented token whether it passes; a refused request never reaches the wrapped handler.
#include "pulse/handlers/token_gate.hpp"

#include <fmt/format.h>

#include <utility>

#include "pulse/handlers/heartbeat/json.hpp"

namespace pulse::handlers {
namespace {

constexpr std::string_view kHowToSend = "send it as Authorization: Bearer TOKEN, or as ?token=TOKEN";

}  // namespace

std::string_view to_string(Access access) noexcept {
  switch (access) {
    case Access::kNone: return "none";
    case Access::kRead: return "read";
    case Access::kWrite: return "write";
  }
  return "unknown";
}

Access access_for(http::Method method) noexcept {
  switch (method) {
    case http::Method::kGet:
    case http::Method::kHead: return Access::kRead;
    case http::Method::kOptions: return Access::kNone;
    default: return Access::kWrite;
  }
}

Access access_for(const http::Request& request) noexcept {
  constexpr std::string_view kHeartbeatPrefix = "/heartbeat/";
  constexpr std::string_view kHoldSuffix = "/hold";
  const std::string_view path = request.path;
  if (path.starts_with(kHeartbeatPrefix) && path.size() > kHeartbeatPrefix.size() + kHoldSuffix.size() &&
      path.ends_with(kHoldSuffix)) {
    return Access::kWrite;
  }
  return access_for(request.method);
}

std::string_view to_string(GateDecision decision) noexcept {
  switch (decision) {
    case GateDecision::kAllowed: return "allowed";
    case GateDecision::kTokenRequired: return "token_required";
    case GateDecision::kTokenRejected: return "invalid_token";
  }
  return "unknown";
}

GateDecision decide(const AccessTokens& tokens, const http::Request& request) {
  const Access access = access_for(request);
  const bool guarded =
      (access == Access::kWrite && !tokens.write.empty()) || (access == Access::kRead && !tokens.read.empty());
  if (!guarded) return GateDecision::kAllowed;
  const auto token = presented_token(request);
  if (!token) return GateDecision::kTokenRequired;
  bool accepted = tokens.write.contains(*token);
  // `|`, not `||`: a read compares with both sets, whichever matches.
  if (access == Access::kRead) accepted = accepted | tokens.read.contains(*token);
  return accepted ? GateDecision::kAllowed : GateDecision::kTokenRejected;
}

http::Response unauthorized(GateDecision decision, Access access) {
  const bool rejected = decision == GateDecision::kTokenRejected;
  std::string detail;
  if (access == Access::kWrite) {
    detail = rejected ? "the token is not a heartbeat token of this server; changes need one"
                      : fmt::format("changes need the heartbeat token: {}", kHowToSend);
  } else {
    detail = rejected ? "the token is neither a read token nor a heartbeat token of this server"
                      : fmt::format("reading needs the read token (or the heartbeat token): {}", kHowToSend);
  }
  auto response = heartbeat::json_error(401, to_string(decision), detail);
  response.set_header("WWW-Authenticate", rejected
                                              ? fmt::format("Bearer realm=\"{}\", error=\"invalid_token\"", kTokenRealm)
                                              : fmt::format("Bearer realm=\"{}\"", kTokenRealm));
  response.set_header("Cache-Control", "no-store");
  return response;
}

TokenGate::TokenGate(std::shared_ptr<http::Handler> inner, std::shared_ptr<const AccessTokens> tokens)
    : inner_(std::move(inner)), tokens_(std::move(tokens)) {}

http::Response TokenGate::handle(const http::Request& request) {
  const GateDecision decision = decide(*tokens_, request);
  if (decision != GateDecision::kAllowed) return unauthorized(decision, access_for(request));
  return inner_->handle(request);
}

std::shared_ptr<http::Handler> guard(std::shared_ptr<http::Handler> inner, std::shared_ptr<const AccessTokens> tokens) {
  if (!tokens || tokens->open()) return inner;
  return std::make_shared<TokenGate>(std::move(inner), std::move(tokens));
}

}  // namespace pulse::handlers
