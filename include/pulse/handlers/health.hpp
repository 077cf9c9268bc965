// Health and readiness, for load balancers and container probes.
//   GET /healthz  200 "ok" while the process serves (static files need nothing else): liveness.
//   GET /readyz   200 "ready" while the presence store can be reached too; 503 with the reason
//                 and Retry-After otherwise, so a balancer sends heartbeats elsewhere.
#pragma once

#include <chrono>
#include <memory>

#include "pulse/http/handler.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers {

class Health final : public http::Handler {
 public:
  [[nodiscard]] http::Response handle(const http::Request& request) override;
};

inline constexpr std::chrono::seconds kNotReadyRetryAfter{1};

class Readiness final : public http::Handler {
 public:
  explicit Readiness(std::shared_ptr<const presence::PresenceStore> store);
  // Any worker thread: reads the store's health without blocking.
  [[nodiscard]] http::Response handle(const http::Request& request) override;

 private:
  std::shared_ptr<const presence::PresenceStore> store_;
};

}  // namespace pulse::handlers
