// Health: the cheapest possible proof that a worker is serving; readiness adds the store.
#include "pulse/handlers/health.hpp"

#include <optional>
#include <string>
#include <utility>

namespace pulse::handlers {
namespace {

std::optional<http::Response> refuse_method(const http::Request& request) {
  if (request.method == http::Method::kGet || request.method == http::Method::kHead) return std::nullopt;
  auto response = http::Response::error(405);
  response.set_header("Allow", "GET, HEAD");
  return response;
}

}  // namespace

http::Response Health::handle(const http::Request& request) {
  if (auto refused = refuse_method(request)) return std::move(*refused);
  auto response = http::Response::text(200, "ok\n");
  response.set_header("Cache-Control", "no-store");
  return response;
}

Readiness::Readiness(std::shared_ptr<const presence::PresenceStore> store) : store_(std::move(store)) {}

http::Response Readiness::handle(const http::Request& request) {
  if (auto refused = refuse_method(request)) return std::move(*refused);
  const presence::StoreHealth health = store_->health();
  auto response = health.ready ? http::Response::text(200, "ready\n")
                               : http::Response::text(503, "not ready: the presence store cannot be reached (" +
                                                               health.detail + ")\n");
  if (!health.ready) response.set_header("Retry-After", std::to_string(kNotReadyRetryAfter.count()));
  response.set_header("Cache-Control", "no-store");
  return response;
}

}  // namespace pulse::handlers
