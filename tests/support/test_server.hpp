// TestServer: the whole server, in-process, on an ephemeral 127.0.0.1 port, run on a thread and
// stopped (gracefully) when the test ends.
#pragma once

#include <chrono>
#include <memory>
#include <thread>

#include "pulse/app/config.hpp"
#include "support/http_client.hpp"
#include "pulse/app/server.hpp"
#include "support/temp_dir.hpp"

namespace pulse::test {

using namespace std::chrono_literals;

class TestServer {
 public:
  // Defaults for tests: 127.0.0.1, port 0, two workers, signals left alone, an empty docroot.
  static app::Config default_config() {
    app::Config config;
    config.bind = "127.0.0.1";
    config.port = 0;
    config.threads = 2;
    config.handle_signals = false;
    config.access_log = "off";
    config.limits.shutdown_timeout = 5s;
    return config;
  }

  explicit TestServer(app::Config config = default_config()) {
    if (config.static_files.root == "www") config.static_files.root = docroot_.path();
    server_ = std::make_unique<app::Server>(std::move(config));
    thread_ = std::thread([this] { exit_code_ = server_->run(); });
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() { stop(); }

  [[nodiscard]] std::uint16_t port() const { return server_->local_address().port(); }
  [[nodiscard]] test::HttpClient connect(std::chrono::milliseconds timeout = 5s) const {
    return test::HttpClient("127.0.0.1", port(), timeout);
  }
  [[nodiscard]] app::Server& server() { return *server_; }
  [[nodiscard]] const TempDir& docroot() const { return docroot_; }

  // Graceful stop (as SIGTERM) and wait for run() to return; returns its exit status.
  int stop() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
    return exit_code_;
  }

 private:
  TempDir docroot_;
  std::unique_ptr<app::Server> server_;
  std::thread thread_;
  int exit_code_ = -1;
};

}  // namespace pulse::test
