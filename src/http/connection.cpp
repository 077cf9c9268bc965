// Connection: read -> parse (paused at each message end) -> handle -> queue -> write, with
// back-pressure, timeouts and a lingering close. Ordered by construction: one request is
// handled at a time and its response appended to the queue before the next is parsed.
#include "pulse/http/connection.hpp"

#include <sys/epoll.h>

#include <array>
#include <exception>

#include <fmt/format.h>

#include "pulse/base/log.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/response_plan.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/net/io.hpp"
#include "pulse/net/socket.hpp"

namespace pulse::http {
namespace {

// Work done for one connection per wake-up before yielding to others on the loop (fairness):
// read/parse/write rounds, and requests answered. A client pipelining without pause fills a
// 64 KiB read with about 1,700 small requests; 16 such rounds were about 30 ms of one turn.
constexpr int kMaxRoundsPerPump = 16;
constexpr std::uint32_t kMaxRequestsPerPump = 256;
// Event-stream output a slow reader may leave unread before it is disconnected.
constexpr std::size_t kMaxStreamBacklogBytes = 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A completed deferred response on its way to the connection's loop. Should it never arrive
// (the connection or its loop went first, or the loop's queue is torn down), its event stream
// is detached, so that the producer's writes fail and it lets go.
struct ResponseInFlight {
  explicit ResponseInFlight(Response r) : response(std::move(r)) {}
  ResponseInFlight(const ResponseInFlight&) = delete;
  ResponseInFlight& operator=(const ResponseInFlight&) = delete;
  ~ResponseInFlight() { discard_response(response); }  // a no-op once the response was moved out

  Response response;
};

}  // namespace

Connection::Connection(ConnectionContext& context, base::UniqueFd fd, std::string remote_addr, std::uint64_t id)
    : context_(context),
      loop_(*context.loop),
      fd_(std::move(fd)),
      remote_addr_(std::move(remote_addr)),
      id_(id),
      timer_(&Connection::on_timer, this) {}

Connection::~Connection() {
  if (stream_) stream_->detach();
  if (auto awaited = awaited_.lock()) awaited->detach();
}

void Connection::start() {
  loop_.assert_in_loop_thread();
  times_.last_activity = loop_.now();
  times_.last_write_progress = times_.last_activity;
  if (context_.input_at_accept) {
    // Saves a wake-up per connection, and for a connection that closes after one response
    // (HTTP/1.0) the epoll registration too. If nothing has arrived after all, the read says
    // so (EAGAIN) and the connection waits for its first edge like any other.
    readable_ = true;
    pump();
    if (state_ == State::kClosed) return;
  }
  // Not EPOLLOUT unless a write would block already: every ACK that frees send-buffer space
  // would wake the loop for nothing (see do_write). Data that arrived since the last read is
  // reported by the registration itself: epoll checks readiness as it adds.
  loop_.add(fd_.get(), kReadEvents | (watching_writable_ ? EPOLLOUT : 0U), this);
  registered_ = true;
  update_deadline();
}

bool Connection::idle() const noexcept {
  return is_serving(state_) && !is_streaming(state_) && !is_awaiting_response(state_) && !in_message() && in_.empty() &&
         out_.empty();
}

void Connection::transition(ConnectionEvent event) {
  const State from = state_;
  const State to = next_state(from, event);
  if (to == from) return;
  state_ = to;
  if (is_streaming(from) && !is_streaming(to)) {
    stream_->detach();  // the producer's later writes return false
    stream_.reset();
  }
  if (is_awaiting_response(from) && !is_awaiting_response(to)) {
    // Answered, or closed first: a later complete() is refused and calls nothing.
    if (auto awaited = awaited_.lock()) awaited->detach();
    awaited_.reset();
    awaited_request_.reset();
  }
  if (to == State::kLingering) {
    net::shutdown_write(fd_.get());
    times_.linger_until = loop_.now() + kLingerTimeout;
    readable_ = true;  // drain whatever is already buffered
  } else if (to == State::kClosed) {
    // No EPOLL_CTL_DEL: fd_ is the socket's only descriptor, and closing it takes it out of the
    // epoll set. A stale event for it later in this batch finds the state closed.
    timer_.cancel();
    fd_.reset();
    out_.clear();
    context_.stats->on_connection_closed();
    if (context_.on_closed) context_.on_closed(id_);
  }
}

void Connection::handle_events(std::uint32_t events) {
  if (state_ == State::kClosed) return;  // a stale event in the batch that closed us
  if ((events & EPOLLERR) != 0) return transition(ConnectionEvent::kCloseNow);
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) readable_ = true;
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0) peer_closed_ = true;
  if ((events & EPOLLOUT) != 0) writable_ = true;
  pump();
}

bool Connection::want_read() const noexcept {
  // Open: cap unparsed input (the parser takes everything unless paused by back-pressure).
  // Streaming: nothing more is expected, but reading notices the watcher leaving. Lingering:
  // read and discard until EOF. Every other state has read its last byte.
  if (state_ == State::kOpen) return !out_.paused() && in_.size() < kReadChunkBytes;
  // Awaiting a deferred response: read to notice the peer leaving (EOF, a reset) and to buffer
  // what it pipelines, but stop at the first pipelined byte: an EOF read ahead of requests still
  // buffered would cost them their answers (after a half-close, only the response in progress
  // is sent). A reset still shows as EPOLLERR.
  if (state_ == State::kAwaitingResponse) return in_.empty();
  return state_ == State::kStreaming || state_ == State::kLingering;
}

void Connection::pump() {
  requests_this_pump_ = 0;
  for (int round = 0; round < kMaxRoundsPerPump; ++round) {
    if (state_ == State::kClosed) return;
    process_input();
    if (writable_ && !out_.empty() && do_write() == WriteOutcome::kYielded) break;  // the share is used
    if (ready_to_close())
      transition(nothing_unread() ? ConnectionEvent::kFlushedNothingUnread : ConnectionEvent::kOutputFlushed);
    if (state_ == State::kClosed) return;
    if (requests_this_pump_ >= kMaxRequestsPerPump) break;  // answered and written: the rest next turn
    if (readable_ && want_read()) {
      do_read();
    } else if (!can_parse_buffered()) {
      break;  // waiting for the socket: readable or writable again
    }
    // else: the write just drained below the low-water mark with requests already buffered;
    // no socket event will announce that, so parse them now.
  }
  if (state_ == State::kClosed) return;
  if (((readable_ && want_read()) || can_parse_buffered() || ready_to_close() || (writable_ && !out_.empty())) &&
      !pump_scheduled_) {
    // More to do but our share of this iteration is used: continue after the others. At most
    // one continuation is pending: a socket event that pumps meanwhile does not start a second
    // chain (each would re-post itself, and a client that keeps sending would multiply them
    // until one connection took whole seconds of every loop turn).
    pump_scheduled_ = true;
    loop_.post([weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->pump_scheduled_ = false;
        self->pump();
      }
    });
  }
  update_deadline();
}

bool Connection::can_parse_buffered() noexcept {
  return parses_requests(state_) && !in_.empty() && !out_.update_backpressure();
}

void Connection::do_read() {
  // Read into a per-thread scratch buffer and append only what arrived: an idle connection then
  // holds no read buffer, and nothing is zero-filled per read (that was ~20% of CPU on small
  // requests with a resize()-then-read buffer).
  thread_local std::array<char, kReadChunkBytes> scratch;
  const auto result = net::read_some(fd_.get(), scratch.data(), scratch.size());
  if (state_ != State::kLingering) in_.append(scratch.data(), result.bytes);  // lingering discards
  // A TCP read that did not fill the buffer emptied the receive queue at that moment; anything
  // arriving later raises a new edge-triggered event.
  drained_ = result.would_block || (result.ok() && !result.eof && result.bytes < scratch.size());
  if (result.would_block) {
    readable_ = false;
  } else if (drained_ && !peer_closed_) {
    // Nothing more to read now: waiting for the next edge saves the read that would say EAGAIN
    // (about one system call in four on small keep-alive requests). Once the peer's FIN has
    // been seen there is no next edge, so the read that returns EOF is still made.
    readable_ = false;
    if (is_streaming(state_)) in_.clear();
  } else if (!result.ok()) {
    transition(ConnectionEvent::kCloseNow);  // reset by peer: nothing left to answer
  } else if (result.eof) {
    readable_ = false;
    transition(ConnectionEvent::kPeerEof);
  } else if (is_streaming(state_)) {
    in_.clear();  // nothing is expected on a stream; ignore it
  }
}

bool Connection::nothing_unread() const noexcept {
  // At shutdown, linger anyway: the process is about to exit, and in a container its network
  // goes with it, taking data the kernel still holds for a slow reader; the client's FIN says it
  // has everything.
  return !linger_on_close_ && !context_.shutting_down && in_.empty() && !in_message() && (!readable_ || drained_);
}

void Connection::release_parser_if_idle() noexcept {
  // Between requests the parser holds nothing worth keeping: an idle keep-alive connection then
  // costs its Connection object alone, not a parser and a request too (issue 12, S5).
  // Only right after a whole request: between two messages the parser may hold the half of an
  // empty line ("\r" now, "\n" in the next read), which a fresh parser would take for a bare LF.
  if (parser_ && parser_at_boundary_ && !parser_->in_message() && in_.empty()) parser_.reset();
}

void Connection::process_input() {
  parse_buffered();
  release_parser_if_idle();
}

void Connection::parse_buffered() {
  while (parses_requests(state_) && !in_.empty() && requests_this_pump_ < kMaxRequestsPerPump &&
         !out_.update_backpressure()) {
    if (!parser_) parser_ = std::make_unique<RequestParser>(context_.limits);
    RequestParser& parser = *parser_;
    const bool was_in_message = parser.in_message();
    const bool had_headers = parser.headers_complete();
    const auto result = parser.feed(in_.unparsed());
    in_.consume(result.consumed);
    if (result.event == RequestParser::Event::kRequest) {
      parser_at_boundary_ = true;
    } else if (result.consumed > 0) {
      parser_at_boundary_ = false;
    }
    // Only bytes of a message count as activity: empty lines between requests (which llhttp
    // skips) must not keep a connection alive past its timeouts.
    if (parser.in_message() || result.event != RequestParser::Event::kNeedMore) {
      if (!was_in_message) times_.request_started = loop_.now();
      if (parser.headers_complete() && (!had_headers || !was_in_message)) times_.body_started = loop_.now();
      times_.last_activity = loop_.now();
    }
    switch (result.event) {
      case RequestParser::Event::kNeedMore: return;
      case RequestParser::Event::kRequest:
        ++requests_this_pump_;
        on_request(parser.take_request());
        break;
      case RequestParser::Event::kExpectContinue: out_.append(kContinue); break;
      case RequestParser::Event::kError:
        on_parse_error();
        in_.clear();  // the stream cannot be re-synchronised after a framing error
        parser_.reset();
        return;
    }
    if (is_awaiting_response(state_)) {
      // Strict order: what was pipelined behind it waits, unparsed, for the deferred answer.
      in_.release_if_consumed();
      return;
    }
    if (state_ != State::kOpen) {
      // Nothing after a closing (or streaming) response is answered: drop what was pipelined,
      // and read what else comes before closing (it must not reset the response away).
      if (!in_.empty()) linger_on_close_ = true;
      in_.clear();
      return;
    }
  }
  in_.release_if_consumed();
}

void Connection::on_request(Request request) {
  request.remote_addr = remote_addr_;
  request.received_at = loop_.now();
  ++requests_served_;
  Response response;
  try {
    if (request.path == "*") {
      // "OPTIONS *": the server's own capabilities, not a resource's.
      response.status = 204;
      response.set_header("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    } else {
      response = context_.router->dispatch(request);
    }
  } catch (const std::exception& e) {
    const std::string action = fmt::format("running the handler for {}", request.path);
    base::log_error({.connection_id = id_, .peer = remote_addr_, .action = action}, "handler failed: {}", e.what());
    response = Response::error(500);
  }
  respond(std::move(request), std::move(response));
}

void Connection::respond(Request request, Response response) {
  if (response.deferred) return await_response(std::move(request), std::move(response.deferred));
  queue_response(request, std::move(response));
}

void Connection::await_response(Request request, std::shared_ptr<DeferredResponse> deferred) {
  request.body = {};  // handled already; only the head matters for queuing the answer
  awaited_request_ = std::make_unique<Request>(std::move(request));
  awaited_ = deferred;
  transition(ConnectionEvent::kResponseDeferred);
  // As for a stream: the producer completes from any thread, so hop onto our loop, and only
  // if the loop and the connection still exist.
  deferred->attach(
      [weak_loop = std::weak_ptr<net::EventLoop>(context_.loop), weak_self = weak_from_this()](Response response) {
        auto in_flight = std::make_shared<ResponseInFlight>(std::move(response));  // a Task must be copyable
        if (auto loop = weak_loop.lock()) {
          loop->post([weak_self, in_flight] {
            if (auto self = weak_self.lock()) self->on_response_ready(std::move(in_flight->response));
          });
        }
      });
  // `deferred` goes out of scope here: if the handler kept no reference for a producer, this
  // was the last one and the destructor has just answered 503 (posted, so it arrives later).
}

void Connection::on_response_ready(Response response) {
  loop_.assert_in_loop_thread();
  if (!is_awaiting_response(state_)) return discard_response(response);  // closed while it was on its way
  Request request = awaited_request_ ? std::move(*awaited_request_) : Request{};
  transition(ConnectionEvent::kResponseReady);
  respond(std::move(request), std::move(response));
  // As in process_input: nothing pipelined after a closing (or streaming) response is answered.
  if (state_ != State::kOpen && !is_awaiting_response(state_)) {
    if (!in_.empty()) linger_on_close_ = true;
    in_.clear();
  }
  pump();  // write it, then parse what was pipelined behind it
}

void Connection::on_parse_error() {
  ++requests_served_;
  queue_error_and_close(parser_->error_status(), parser_->error_reason());
}

void Connection::queue_error_and_close(int status, std::string_view detail) {
  Request request;  // none was parsed: "-" in the access log
  request.method_name = "-";
  request.target = "-";
  auto response = Response::error(status, detail);
  response.close_connection = true;
  // The client may still be sending (a body, the rest of a request that timed out): read it
  // before closing, or the kernel's reset could destroy the error response.
  linger_on_close_ = true;
  queue_response(request, std::move(response));
}

void Connection::queue_response(const Request& request, Response response) {
  const ResponsePlan plan = plan_response(request, response,
                                          {.requests_served = requests_served_,
                                           .max_requests = context_.limits.max_requests_per_connection,
                                           .shutting_down = context_.shutting_down});
  // HEAD gets GET's headers only: the producer's stream is released at once.
  if (plan.head && response.stream) response.stream->detach();
  if (response.tcp_keepalive && !plan.head) net::set_tcp_keepalive(fd_.get(), kHeldKeepAlive);
  if (!plan.keep_alive.keep_alive) transition(ConnectionEvent::kNoMoreRequests);
  const std::uint64_t body_bytes = serialize_response(plan, response, out_);
  record(request, response.status, body_bytes);
  if (plan.stream) start_stream(std::move(response.stream), plan.chunked);
}

void Connection::record(const Request& request, int status, std::uint64_t body_bytes) {
  context_.stats->on_response(status);
  if (context_.on_access) {
    context_.on_access({remote_addr_, request.method_name, request.target, request.version_minor, status, body_bytes,
                        std::time(nullptr)});
  }
}

void Connection::start_stream(std::shared_ptr<ResponseStream> stream, bool chunked) {
  stream_ = std::move(stream);
  stream_chunked_ = chunked;
  transition(ConnectionEvent::kStreamStarted);
  // The producer may write from any thread: hop onto our loop, and only if we still exist.
  stream_->attach([weak_loop = std::weak_ptr<net::EventLoop>(context_.loop), weak_self = weak_from_this()] {
    if (auto loop = weak_loop.lock()) {
      loop->post([weak_self] {
        if (auto self = weak_self.lock()) self->on_stream_ready();
      });
    }
  });
  if (context_.shutting_down) finish_stream();
}

void Connection::on_stream_ready() {
  loop_.assert_in_loop_thread();
  if (!is_streaming(state_)) return;
  auto [segments, closed] = stream_->take();
  for (auto& segment : segments) {
    if (segment.shared) {
      append_stream_shared(std::move(segment.shared), stream_chunked_, out_);
    } else {
      append_stream_data(segment.owned, stream_chunked_, out_);
    }
  }
  if (closed) {
    finish_stream();
  } else {
    // Judged after writing what the socket takes now, so a big first snapshot is no fault of a
    // client that reads; and counting only what this stream owns (snapshots are shared). A
    // reader that falls this far behind would grow the server without bound: it reconnects and
    // resumes from Last-Event-ID. One that stops reading altogether meets the write timeout.
    if (writable_ && !out_.empty()) do_write();
    if (!is_streaming(state_)) return;
    if (out_.owned_bytes() > kMaxStreamBacklogBytes) return transition(ConnectionEvent::kCloseNow);
  }
  pump();
}

void Connection::finish_stream() {
  if (!is_streaming(state_)) return;
  append_stream_end(stream_chunked_, out_);
  transition(ConnectionEvent::kStreamFinished);
}

WriteOutcome Connection::do_write() {
  SocketWriter writer(fd_.get());
  const WriteResult result = out_.write_to(writer);
  if (result.bytes > 0) {
    context_.stats->add_bytes_sent(result.bytes);
    times_.last_write_progress = loop_.now();
    times_.last_activity = times_.last_write_progress;  // the keep-alive idle time starts when the response is out
  }
  switch (result.outcome) {
    case WriteOutcome::kDrained: break;
    case WriteOutcome::kYielded: break;  // still writable: pump() continues after the others
    case WriteOutcome::kWouldBlock:
      writable_ = false;
      if (!watching_writable_) {
        // MOD reports the socket at once if it became writable meanwhile: no wake-up is lost.
        // Not registered yet (start() answering): the registration asks for EPOLLOUT.
        if (registered_) loop_.modify(fd_.get(), kReadEvents | EPOLLOUT, this);
        watching_writable_ = true;
      }
      break;
    case WriteOutcome::kFileTruncated:
      // The promised length can no longer be met: the only honest end is to close.
      base::log_warning({.connection_id = id_, .peer = remote_addr_, .action = "sending a file"},
                        "file truncated while being sent; closing the connection");
      transition(ConnectionEvent::kCloseNow);
      break;
    case WriteOutcome::kFailed: transition(ConnectionEvent::kCloseNow); break;
  }
  return result.outcome;
}

void Connection::begin_shutdown() {
  loop_.assert_in_loop_thread();
  if (!is_serving(state_)) return;
  if (idle()) return transition(ConnectionEvent::kCloseNow);
  finish_stream();
  // Between requests: close once what is queued is out. A request still arriving is answered
  // with "Connection: close" (context.shutting_down), and so is a deferred response still
  // awaited (the state table keeps it waiting), if it comes within the grace period.
  if (!in_message() && in_.empty()) transition(ConnectionEvent::kNoMoreRequests);
  pump();
}

Deadline Connection::compute_deadline() const noexcept {
  return next_deadline({.state = state_,
                        .output_queued = !out_.empty(),
                        .request_in_progress = in_message() || !in_.empty(),
                        .headers_complete = parser_ && parser_->headers_complete(),
                        .first_request = requests_served_ == 0,
                        .times = times_},
                       context_.limits);
}

void Connection::update_deadline() {
  if (state_ == State::kClosed) return;
  deadline_ = compute_deadline();
  arm_timer();
}

void Connection::arm_timer() {
  timer_.chase(loop_.timers(), deadline_.at);
}

void Connection::on_timer(void* context) {
  auto& connection = *static_cast<Connection*>(context);
  // Held for the call: what the timeout does may drop the worker's reference.
  const auto self = connection.weak_from_this().lock();
  if (!self) return;  // being destroyed: nothing to time out
  connection.handle_timeout();
}

void Connection::handle_timeout() {
  loop_.assert_in_loop_thread();
  if (state_ == State::kClosed) return;
  deadline_ = compute_deadline();  // activity since arming may have moved it later
  if (loop_.now() < deadline_.at) return arm_timer();
  if (deadline_.action == TimeoutAction::kClose) {
    return transition(ConnectionEvent::kCloseNow);  // lingered out, stopped reading, or idle
  }
  // Tell a slow client why, then close (best effort: the socket is writable unless stuck).
  queue_error_and_close(408, "request not received in time");
  in_.clear();
  pump();
}

}  // namespace pulse::http
