// Router: exact beats prefix, the longest prefix wins, no match is 404.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "pulse/http/router.hpp"

using namespace pulse::http;

namespace {

class Named final : public Handler {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  Response handle(const Request&) override { return Response::text(200, name_); }

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("routing by exact path, then longest prefix", "[router]") {
  Router router;
  router.add_prefix("/", std::make_shared<Named>("root"));
  router.add_exact("/healthz", std::make_shared<Named>("health"));
  router.add_prefix("/heartbeat/", std::make_shared<Named>("beat-prefix"));
  router.add_exact("/heartbeat", std::make_shared<Named>("beat-list"));

  auto body_for = [&](const std::string& target) { return router.dispatch(Request::make(Method::kGet, target)).body; };
  CHECK(body_for("/healthz") == "health");
  CHECK(body_for("/healthz?x=1") == "health");
  CHECK(body_for("/healthz/") == "root");
  CHECK(body_for("/heartbeat") == "beat-list");
  CHECK(body_for("/heartbeat/abc") == "beat-prefix");
  CHECK(body_for("/heartbeatx") == "root");
  CHECK(body_for("/index.html") == "root");
}

TEST_CASE("no route is a 404 page", "[router]") {
  Router router;
  router.add_exact("/only", std::make_shared<Named>("only"));
  const auto response = router.dispatch(Request::make(Method::kGet, "/other"));
  CHECK(response.status == 404);
  CHECK(response.header("Content-Type") == "text/html; charset=utf-8");
}
