// EventStreamReader: one GET /heartbeat/events connection for integration tests; decodes the
// chunked body as it arrives and parses it as an event stream.
#pragma once

#include <chrono>
#include <string>

#include "support/http_client.hpp"
#include "support/sse.hpp"
#include "support/test_server.hpp"

namespace pulse::test {

using namespace std::chrono_literals;

// One GET /heartbeat/events connection: decodes the chunked body as it arrives and parses it
// as an event stream.
class EventStreamReader {
 public:
  explicit EventStreamReader(const TestServer& server, const std::string& last_event_id = {})
      : client_(server.connect()) {
    std::string request = "GET /heartbeat/events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n";
    if (!last_event_id.empty()) request += "Last-Event-ID: " + last_event_id + "\r\n";
    client_.send_raw(request + "\r\n");
  }

  // Reads until `done(stream)` holds or `timeout` passes; returns whether it held.
  template <typename Done>
  bool wait_for(Done done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (done(pulse::test::parse_sse(body_))) return true;
      if (ended_ || std::chrono::steady_clock::now() >= deadline) return false;
      raw_ += client_.read_available(100ms);
      decode();
    }
  }
  bool wait_for_event(const std::string& name, std::chrono::milliseconds timeout = 5s) {
    return wait_for(
        [&](const pulse::test::SseStream& stream) {
          for (const auto& event : stream.events) {
            if (event.event == name) return true;
          }
          return false;
        },
        timeout);
  }
  bool wait_for_end(std::chrono::milliseconds timeout) {
    return wait_for([this](const pulse::test::SseStream&) { return ended_; }, timeout);
  }

  [[nodiscard]] pulse::test::SseStream stream() const { return pulse::test::parse_sse(body_); }
  [[nodiscard]] const std::string& head() const { return head_; }

 private:
  void decode() {
    if (head_.empty()) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end + 4);
      raw_.erase(0, end + 4);
    }
    while (!ended_) {
      const auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) return;  // the chunk is not complete yet
      body_ += raw_.substr(line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
      if (size == 0) ended_ = true;
    }
  }

  test::HttpClient client_;
  std::string raw_;   // received, not yet decoded
  std::string head_;  // status line and headers
  std::string body_;  // the decoded event stream
  bool ended_ = false;
};

}  // namespace pulse::test
