// Health: GET /healthz answers 200 "ok" while the server runs (load balancers, container probes).
#pragma once

#include "pulse/http/handler.hpp"

namespace pulse::handlers {

class Health final : public http::Handler {
 public:
  [[nodiscard]] http::Response handle(const http::Request& request) override;
};

}  // namespace pulse::handlers
