// TokenGate: wraps a handler (the /heartbeat API, /metrics) and lets a request through only when
// it presents a token its kind of access needs; otherwise 401 with `WWW-Authenticate: Bearer` and
// a JSON error in the heartbeat API's shape. The wrapped handler never sees a refused request, so
// a wrong or missing token cannot change anything.
#pragma once

#include <memory>
#include <string_view>

#include "pulse/http/bearer_auth.hpp"
#include "pulse/http/handler.hpp"

namespace pulse::handlers {

inline constexpr std::string_view kTokenRealm = "pulse";

// The tokens the server accepts. An empty set leaves its kind of access open.
struct AccessTokens {
  http::TokenSet write;  // --heartbeat-token: beats and sign-offs; also good for reads
  http::TokenSet read;   // --read-token: the list, one client, the event stream, /metrics

  [[nodiscard]] bool open() const noexcept { return write.empty() && read.empty(); }
};

// What a request needs, by its method alone (the gate wraps only handlers whose every path is
// guarded): GET and HEAD read; OPTIONS needs nothing (a CORS preflight never carries credentials,
// and changes nothing); every other method may change state, so it writes.
enum class Access { kNone, kRead, kWrite };
[[nodiscard]] std::string_view to_string(Access access) noexcept;
[[nodiscard]] Access access_for(http::Method method) noexcept;
// What `request` needs: as its method says, except that a held heartbeat connection
// (GET /heartbeat/{id}/hold) writes: it records beats, and keeps a client up for as long as it
// lasts, so it needs the heartbeat token however it is read.
[[nodiscard]] Access access_for(const http::Request& request) noexcept;

enum class GateDecision {
  kAllowed,
  kTokenRequired,  // no token presented
  kTokenRejected,  // a token presented, and not one accepted for this access
};
[[nodiscard]] std::string_view to_string(GateDecision decision) noexcept;

// `tokens` decides, and nothing else: a read needs a read or a write token once read tokens are
// set; a write needs a write token once write tokens are set.
[[nodiscard]] GateDecision decide(const AccessTokens& tokens, const http::Request& request);

// The 401 for a refused request: WWW-Authenticate (with error="invalid_token" for a rejected
// token, RFC 6750 section 3.1), Cache-Control: no-store, {"error": "token_required" or
// "invalid_token", "detail": ...}.
[[nodiscard]] http::Response unauthorized(GateDecision decision, Access access);

// Thread affinity: immutable after construction; handle() on any worker thread.
class TokenGate final : public http::Handler {
 public:
  TokenGate(std::shared_ptr<http::Handler> inner, std::shared_ptr<const AccessTokens> tokens);

  [[nodiscard]] http::Response handle(const http::Request& request) override;

 private:
  const std::shared_ptr<http::Handler> inner_;
  const std::shared_ptr<const AccessTokens> tokens_;
};

// `inner` behind a TokenGate, or `inner` itself when no token is set (no cost when open).
[[nodiscard]] std::shared_ptr<http::Handler> guard(std::shared_ptr<http::Handler> inner,
                                                   std::shared_ptr<const AccessTokens> tokens);

}  // namespace pulse::handlers
