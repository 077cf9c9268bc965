// HttpTestServer: tests/support/http_test_server.py started on a free 127.0.0.1 port, plain or
// HTTPS with a certificate made for the test (TestCertificate), stopped by its pid at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"  // ChildProcess, file_tail
#include "support/temp_dir.hpp"

#ifndef PULSE_TEST_SUPPORT_DIR
#error "PULSE_TEST_SUPPORT_DIR must name tests/support"
#endif

namespace pulse::test {

// A self-signed certificate for 127.0.0.1 and localhost, made with `openssl req -x509`, valid
// for two days; trusting it means passing cert() as the CA file.
class TestCertificate {
 public:
  TestCertificate() {
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
        key().string() + "' -out '" + cert().string() + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0 || !std::filesystem::exists(cert())) {
      throw std::runtime_error("openssl req -x509 failed (is openssl installed?)");
    }
  }
  [[nodiscard]] std::filesystem::path cert() const { return dir_.path() / "cert.pem"; }
  [[nodiscard]] std::filesystem::path key() const { return dir_.path() / "key.pem"; }

 private:
  TempDir dir_;
};

class HttpTestServer {
 public:
  // `tls`: serve HTTPS with that certificate. `extra_args`: http_test_server.py flags.
  explicit HttpTestServer(const TestCertificate* tls = nullptr, std::vector<std::string> extra_args = {}) {
    const auto port_file = dir_.path() / "port";
    std::vector<std::string> args{"python3", std::string(PULSE_TEST_SUPPORT_DIR) + "/http_test_server.py",
                                  "--port-file", port_file.string()};
    if (tls != nullptr) {
      args.insert(args.end(), {"--tls", tls->cert().string(), tls->key().string()});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_.spawn(args, (dir_.path() / "server.log").string());
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::exists(port_file)) {
      if (!process_.running() || std::chrono::steady_clock::now() > until) {
        throw std::runtime_error("http_test_server.py did not start: " + file_tail(dir_.path() / "server.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream(port_file) >> port_;
    scheme_ = tls != nullptr ? "https" : "http";
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // "http://127.0.0.1:PORT" + path (or https).
  [[nodiscard]] std::string url(const std::string& path = "/") const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] std::string log() const { return file_tail(dir_.path() / "server.log"); }
  void stop() { process_.stop(); }

 private:
  TempDir dir_;
  ChildProcess process_;
  std::uint16_t port_ = 0;
  std::string scheme_;
};

}  // namespace pulse::test
