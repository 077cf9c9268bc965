// Connection: one client socket on one worker thread. Reads bytes into a buffer it owns across
// requests, parses them one message at a time, queues responses in request order and writes
// them with writev/sendfile. Every method runs on the owning loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/limits.hpp"
#include "pulse/http/parser.hpp"
#include "pulse/http/response.hpp"
#include "pulse/http/router.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/net/event_loop.hpp"

namespace pulse::http {

// One line of the access log, handed to the worker as the response is queued.
struct AccessRecord {
  std::string_view remote_addr;
  std::string_view method;
  std::string_view target;
  int version_minor;
  int status;
  std::uint64_t body_bytes;
  std::time_t when;
};

// What a connection needs from the worker that owns it. Outlives every connection.
struct ConnectionContext {
  std::shared_ptr<net::EventLoop> loop;
  const Router* router = nullptr;
  Limits limits;
  ServerStats* stats = nullptr;
  bool shutting_down = false;                                  // loop thread only
  std::function<void(const AccessRecord&)> on_access;          // may be empty
  std::function<void(std::uint64_t connection_id)> on_closed;  // worker forgets the connection
};

class Connection final : public net::IoHandler, public std::enable_shared_from_this<Connection> {
 public:
  enum class State { kActive, kLingering, kClosed };

  Connection(ConnectionContext& context, base::UniqueFd fd, std::string remote_addr, std::uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override;

  // Registers with the loop and arms the first-request (header) timeout.
  void start();
  void handle_events(std::uint32_t events) override;
  // Server shutdown: close now if idle, else after the response in progress.
  void begin_shutdown();
  // Closes at once, dropping queued output (grace period over).
  void abort() { do_close(); }

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] State state() const noexcept { return state_; }
  // No request in progress, nothing queued, not streaming.
  [[nodiscard]] bool idle() const noexcept;

 private:
  // A run of bytes or a file range waiting to be written, in response order.
  struct OutChunk {
    std::string bytes;
    std::optional<FileBody> file;
  };

  void pump();
  void do_read();
  void process_input();
  void on_request(Request request);
  void on_parse_error();
  void queue_response(const Request& request, Response response);
  void queue_bytes(std::string_view bytes);
  // The in-memory chunk new bytes may be appended to (a new one when the last is a file or full).
  std::string& output_tail(std::size_t expected_bytes);
  void do_write();
  void on_stream_ready();
  void finish_stream();
  void start_lingering_close();
  void do_close();
  void compute_deadline();
  void arm_timer();
  void update_deadline();
  void handle_timeout();
  [[nodiscard]] bool has_output() const noexcept { return !out_.empty(); }
  [[nodiscard]] bool want_read() const noexcept;
  [[nodiscard]] bool backpressured() noexcept;
  // Unparsed input that process_input() would consume now.
  [[nodiscard]] bool can_parse_buffered() noexcept;
  // Everything queued is out and the connection is to close (not mid-stream).
  [[nodiscard]] bool ready_to_close() const noexcept;

  ConnectionContext& context_;
  net::EventLoop& loop_;
  base::UniqueFd fd_;
  std::string remote_addr_;
  std::uint64_t id_;
  State state_ = State::kActive;

  std::string in_buf_;  // bytes read but not yet parsed start at in_start_
  std::size_t in_start_ = 0;
  RequestParser parser_;

  std::deque<OutChunk> out_;
  std::size_t out_front_offset_ = 0;  // bytes of out_.front().bytes already written
  std::size_t out_bytes_ = 0;         // in-memory bytes queued
  bool paused_ = false;               // back-pressure hysteresis

  bool readable_ = false;  // edge-triggered readiness not yet consumed
  bool writable_ = true;
  bool peer_eof_ = false;
  bool close_after_flush_ = false;
  bool pump_scheduled_ = false;
  std::uint64_t requests_served_ = 0;

  std::shared_ptr<ResponseStream> stream_;
  bool stream_chunked_ = false;

  // Timeouts: one wheel timer, re-armed lazily toward deadline_.
  base::MonotonicClock::time_point deadline_{};
  base::MonotonicClock::time_point timer_at_{};
  std::optional<net::TimerWheel::TimerId> timer_;
  base::MonotonicClock::time_point request_started_{};
  base::MonotonicClock::time_point last_activity_{};
  base::MonotonicClock::time_point last_write_progress_{};
};

}  // namespace pulse::http
