// Connection: one client socket on one worker thread. Reads bytes into a buffer it owns across
// requests, parses them one message at a time and queues the responses in request order. Its
// phases are ConnectionState (connection_state.hpp), its deadlines next_deadline (deadline.hpp).
// A handler may answer later (DeferredResponse): the connection then waits, parsing nothing more.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/connection_state.hpp"
#include "pulse/http/deadline.hpp"
#include "pulse/http/deadline_timer.hpp"
#include "pulse/http/input_buffer.hpp"
#include "pulse/http/limits.hpp"
#include "pulse/http/output_queue.hpp"
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

// What a connection needs from the worker that owns it. Outlives every connection; lives on
// the worker's loop thread.
struct ConnectionContext {
  std::shared_ptr<net::EventLoop> loop;
  const Router* router = nullptr;
  Limits limits;
  ServerStats* stats = nullptr;
  bool shutting_down = false;                                  // loop thread only
  // The listener defers accept until data arrives (TCP_DEFER_ACCEPT): a new connection's
  // request is usually there already, so start() reads it before registering with epoll.
  bool input_at_accept = false;
  std::function<void(const AccessRecord&)> on_access;          // may be empty
  std::function<void(std::uint64_t connection_id)> on_closed;  // worker forgets the connection
};

// Owned by its worker; every method runs on the owning loop's thread.
class Connection final : public net::IoHandler, public std::enable_shared_from_this<Connection> {
 public:
  using State = ConnectionState;

  Connection(ConnectionContext& context, base::UniqueFd fd, std::string remote_addr, std::uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override;

  // Registers with the loop and arms the first-request (header) timeout. With
  // context.input_at_accept it first reads and answers what has arrived; a connection that
  // this closes (HTTP/1.0, an error) never enters epoll.
  void start();
  void handle_events(std::uint32_t events) override;
  // Server shutdown: close now if idle, else after the response in progress.
  void begin_shutdown();
  // Closes at once, dropping queued output (grace period over).
  void abort() { transition(ConnectionEvent::kCloseNow); }

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] State state() const noexcept { return state_; }
  // No request in progress, nothing queued, not streaming, no deferred response awaited.
  [[nodiscard]] bool idle() const noexcept;

 private:
  // The only place state_ changes; runs the actions of entering the new state.
  void transition(ConnectionEvent event);
  void pump();
  void do_read();
  void process_input();
  void parse_buffered();
  void release_parser_if_idle() noexcept;
  [[nodiscard]] bool in_message() const noexcept { return parser_ && parser_->in_message(); }
  // Closing now cannot reset the response away: nothing is buffered or half-received, the last
  // read emptied the socket, and nothing asked for a lingering close (an error, dropped input).
  [[nodiscard]] bool nothing_unread() const noexcept;
  void on_request(Request request);
  // Queues `response`, or waits for it when it is deferred.
  void respond(Request request, Response response);
  void await_response(Request request, std::shared_ptr<DeferredResponse> deferred);
  // Loop thread: the deferred response arrived (posted by its producer's complete()).
  void on_response_ready(Response response);
  void on_parse_error();
  // Answers a request that could not be parsed or did not arrive in time.
  void queue_error_and_close(int status, std::string_view detail);
  // Decide (plan_response), serialise into out_, record (stats and access log).
  void queue_response(const Request& request, Response response);
  void record(const Request& request, int status, std::uint64_t body_bytes);
  void start_stream(std::shared_ptr<ResponseStream> stream, bool chunked);
  void on_stream_ready();
  void finish_stream();
  WriteOutcome do_write();
  [[nodiscard]] Deadline compute_deadline() const noexcept;
  void update_deadline();
  void arm_timer();
  static void on_timer(void* context);  // the deadline timer's callback
  void handle_timeout();
  [[nodiscard]] bool want_read() const noexcept;
  // Unparsed input that process_input() would consume now (updates the back-pressure pause).
  [[nodiscard]] bool can_parse_buffered() noexcept;
  // Everything queued is out and the connection is to close.
  [[nodiscard]] bool ready_to_close() const noexcept { return closes_when_flushed(state_) && out_.empty(); }

  static constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP | EPOLLET;

  ConnectionContext& context_;
  net::EventLoop& loop_;
  base::UniqueFd fd_;
  std::string remote_addr_;
  std::uint64_t id_;
  State state_ = State::kOpen;

  InputBuffer in_;
  std::unique_ptr<RequestParser> parser_;  // while a request is being read; none between requests
  std::uint64_t requests_served_ = 0;
  OutputQueue out_;

  // Edge-triggered readiness not yet consumed.
  bool readable_ = false;
  bool drained_ = false;  // the last read emptied the socket's receive queue
  bool parser_at_boundary_ = false;  // the parser's last input ended exactly with a whole request
  bool peer_closed_ = false;  // EPOLLRDHUP or EPOLLHUP seen: an EOF is there to read
  bool watching_writable_ = false;  // EPOLLOUT asked for (after the first write that would block)
  bool registered_ = false;         // in the loop's epoll set (start() may answer a request first)
  bool linger_on_close_ = false;  // half-close and drain before closing, whatever was read
  bool writable_ = true;
  bool pump_scheduled_ = false;       // a continuation of pump() is posted and not yet run
  std::uint32_t requests_this_pump_ = 0;  // answered in this turn (kMaxRequestsPerPump)

  std::shared_ptr<ResponseStream> stream_;  // set exactly while is_streaming(state_)
  bool stream_chunked_ = false;

  // While is_awaiting_response(state_): the request to answer (what queue_response and record
  // need; its body is dropped), and the producer's object, not owned: dropping the last
  // producer reference must be able to answer 503 (deferred_response.hpp).
  std::unique_ptr<Request> awaited_request_;  // only while awaiting: an idle connection holds none
  std::weak_ptr<DeferredResponse> awaited_;

  ActivityTimes times_;
  Deadline deadline_;
  DeadlineTimer timer_;
};

}  // namespace pulse::http
