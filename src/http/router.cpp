// Router: exact routes, then the longest matching prefix.
#include "pulse/http/router.hpp"

#include <algorithm>

namespace pulse::http {

void Router::add_exact(std::string path, std::shared_ptr<Handler> handler) {
  exact_.push_back({std::move(path), std::move(handler)});
}

void Router::add_prefix(std::string prefix, std::shared_ptr<Handler> handler) {
  prefixes_.push_back({std::move(prefix), std::move(handler)});
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const Route& a, const Route& b) { return a.path.size() > b.path.size(); });
}

Handler* Router::find(std::string_view path) const {
  for (const auto& route : exact_) {
    if (route.path == path) return route.handler.get();
  }
  for (const auto& route : prefixes_) {
    if (path.substr(0, route.path.size()) == route.path) return route.handler.get();
  }
  return nullptr;
}

Response Router::dispatch(const Request& request) const {
  Handler* handler = find(request.path);
  if (handler == nullptr) return Response::error(404);
  return handler->handle(request);
}

}  // namespace pulse::http
