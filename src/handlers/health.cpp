// Health: the cheapest possible proof that a worker is serving.
#include "pulse/handlers/health.hpp"

namespace pulse::handlers {

http::Response Health::handle(const http::Request& request) {
  if (request.method != http::Method::kGet && request.method != http::Method::kHead) {
    auto response = http::Response::error(405);
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  auto response = http::Response::text(200, "ok\n");
  response.set_header("Cache-Control", "no-store");
  return response;
}

}  // namespace pulse::handlers
