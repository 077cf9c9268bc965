// Router: maps a request path to a handler by exact match first, then longest prefix.
// Built once at start-up, then read concurrently by every worker (immutable after build).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/http/handler.hpp"

namespace pulse::http {

class Router {
 public:
  // "/healthz" matches only "/healthz".
  void add_exact(std::string path, std::shared_ptr<Handler> handler);
  // "/heartbeat/" matches every path starting with it; "/" is the catch-all.
  void add_prefix(std::string prefix, std::shared_ptr<Handler> handler);

  // The handler for `path` (still percent-encoded, without query), or nullptr.
  [[nodiscard]] Handler* find(std::string_view path) const;

  // Routes and handles; a 404 page when nothing matches.
  [[nodiscard]] Response dispatch(const Request& request) const;

 private:
  struct Route {
    std::string path;
    std::shared_ptr<Handler> handler;
  };
  std::vector<Route> exact_;
  std::vector<Route> prefixes_;  // kept sorted longest first
};

}  // namespace pulse::http
