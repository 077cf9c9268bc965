// Connection: read -> parse (paused at each message end) -> handle -> queue -> write, with
// back-pressure, timeouts and a lingering close. Ordered by construction: one request is
// handled at a time and its response appended to the queue before the next is parsed.
#include "pulse/http/connection.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "pulse/http/keep_alive.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/http/serializer.hpp"
#include "pulse/net/io.hpp"

namespace pulse::http {
namespace {

// Work done for one connection per wake-up before yielding to others on the loop (fairness).
constexpr int kMaxRoundsPerPump = 16;
// Responses smaller than this are appended to the previous queued bytes, so a pipeline of small
// responses leaves in one writev.
constexpr std::size_t kCoalesceLimitBytes = 64 * 1024;
constexpr std::size_t kMaxIovecs = 64;
// Event-stream output a slow reader may leave unread before it is disconnected.
constexpr std::size_t kMaxStreamBacklogBytes = 1024 * 1024;
// Input buffer capacity an idle connection may keep for its next request.
constexpr std::size_t kIdleBufferKeepBytes = 4 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

Connection::Connection(ConnectionContext& context, base::UniqueFd fd, std::string remote_addr, std::uint64_t id)
    : context_(context),
      loop_(*context.loop),
      fd_(std::move(fd)),
      remote_addr_(std::move(remote_addr)),
      id_(id),
      parser_(context.limits) {}

Connection::~Connection() {
  if (stream_) stream_->detach();
}

void Connection::start() {
  loop_.assert_in_loop_thread();
  last_activity_ = loop_.now();
  last_write_progress_ = last_activity_;
  loop_.add(fd_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  update_deadline();
}

bool Connection::idle() const noexcept {
  return state_ == State::kActive && !parser_.in_message() && in_start_ == in_buf_.size() && out_.empty() && !stream_;
}

void Connection::handle_events(std::uint32_t events) {
  if (state_ == State::kClosed) return;  // a stale event in the batch that closed us
  if ((events & EPOLLERR) != 0) {
    do_close();
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) readable_ = true;
  if ((events & EPOLLOUT) != 0) writable_ = true;
  pump();
}

bool Connection::want_read() const noexcept {
  if (state_ == State::kLingering) return true;  // read and discard until EOF
  // Streaming: the client should send nothing more, but we read to notice it leaving.
  if (stream_) return !peer_eof_;
  if (peer_eof_ || close_after_flush_) return false;
  // Cap unparsed input: the parser consumes everything unless paused by back-pressure.
  return !paused_ && in_buf_.size() - in_start_ < kReadChunkBytes;
}

bool Connection::backpressured() noexcept {
  if (paused_) {
    if (out_bytes_ <= kOutputHighWaterBytes / 2 && out_.size() <= kMaxQueuedResponses / 2) paused_ = false;
  } else if (out_bytes_ > kOutputHighWaterBytes || out_.size() > kMaxQueuedResponses) {
    paused_ = true;
  }
  return paused_;
}

void Connection::pump() {
  pump_scheduled_ = false;
  for (int round = 0; round < kMaxRoundsPerPump; ++round) {
    if (state_ == State::kClosed) return;
    process_input();
    if (writable_ && has_output()) do_write();
    if (state_ == State::kClosed) return;
    if (ready_to_close()) {
      start_lingering_close();
      if (state_ == State::kClosed) return;
    }
    if (readable_ && want_read()) {
      do_read();
    } else if (!can_parse_buffered()) {
      break;  // waiting for the socket: readable or writable again
    }
    // else: the write just drained below the low-water mark with requests already buffered;
    // no socket event will announce that, so parse them now.
  }
  if (state_ == State::kClosed) return;
  if (((readable_ && want_read()) || can_parse_buffered() || ready_to_close()) && !pump_scheduled_) {
    // More to do but our share of this iteration is used: continue after the others.
    pump_scheduled_ = true;
    loop_.post([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->pump();
    });
  }
  update_deadline();
}

bool Connection::ready_to_close() const noexcept {
  // A stream's response is not over when its headers are flushed: finish_stream() ends it.
  return state_ == State::kActive && close_after_flush_ && !has_output() && !stream_;
}

bool Connection::can_parse_buffered() noexcept {
  if (state_ != State::kActive || stream_ || in_start_ >= in_buf_.size()) return false;
  if (close_after_flush_ && !peer_eof_) return false;
  return !backpressured();
}

void Connection::do_read() {
  if (state_ == State::kLingering) {
    std::array<char, 16 * 1024> discard{};
    const auto result = net::read_some(fd_.get(), discard.data(), discard.size());
    if (result.would_block) {
      readable_ = false;
    } else if (result.eof || !result.ok()) {
      do_close();
    }
    return;
  }
  // Compact so the buffer does not grow with the life of a keep-alive connection.
  if (in_start_ > 0) {
    in_buf_.erase(0, in_start_);
    in_start_ = 0;
  }
  // Read into a per-thread scratch buffer and append only what arrived: an idle connection then
  // holds no read buffer, and nothing is zero-filled per read (that was ~20% of CPU on small
  // requests with a resize()-then-read buffer).
  thread_local std::array<char, kReadChunkBytes> scratch;
  const auto result = net::read_some(fd_.get(), scratch.data(), scratch.size());
  in_buf_.append(scratch.data(), result.bytes);
  if (result.would_block) {
    readable_ = false;
    return;
  }
  if (!result.ok()) {
    do_close();  // reset by peer: nothing left to answer
    return;
  }
  if (result.eof) {
    readable_ = false;
    peer_eof_ = true;
    // The peer may have half-closed after its last request: answer what is complete, then close.
    close_after_flush_ = true;
    if (stream_) do_close();
    return;
  }
  if (stream_) {
    in_buf_.clear();  // nothing is expected on a stream; ignore it
  }
}

void Connection::process_input() {
  while (state_ == State::kActive && !stream_ && in_start_ < in_buf_.size() && !backpressured()) {
    if (close_after_flush_ && !peer_eof_) break;
    const bool was_in_message = parser_.in_message();
    const std::string_view unparsed(in_buf_.data() + in_start_, in_buf_.size() - in_start_);
    const auto result = parser_.feed(unparsed);
    in_start_ += result.consumed;
    if (!was_in_message && (parser_.in_message() || result.event != RequestParser::Event::kNeedMore)) {
      request_started_ = loop_.now();
    }
    // Only bytes of a message count as activity: empty lines between requests (which llhttp
    // skips) must not keep a connection alive past its timeouts.
    if (parser_.in_message() || result.event != RequestParser::Event::kNeedMore) last_activity_ = loop_.now();
    switch (result.event) {
      case RequestParser::Event::kNeedMore: return;
      case RequestParser::Event::kRequest: on_request(parser_.take_request()); break;
      case RequestParser::Event::kExpectContinue: queue_bytes(kContinue); break;
      case RequestParser::Event::kError:
        on_parse_error();
        // The stream cannot be re-synchronised after a framing error: drop the rest.
        in_buf_.clear();
        in_start_ = 0;
        return;
    }
    if (close_after_flush_) {
      // Nothing after a closing response is answered; drop what the client pipelined.
      in_buf_.clear();
      in_start_ = 0;
      return;
    }
  }
  if (in_start_ == in_buf_.size()) {
    // An idle keep-alive connection should not pin a large buffer left by one big request.
    if (in_buf_.capacity() > kIdleBufferKeepBytes) {
      std::string().swap(in_buf_);
    } else {
      in_buf_.clear();
    }
    in_start_ = 0;
  }
}

void Connection::on_request(Request request) {
  request.remote_addr = remote_addr_;
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
    std::fprintf(stderr, "pulsehttpd: handler for %s failed: %s\n", request.path.c_str(), e.what());
    response = Response::error(500);
  }
  queue_response(request, std::move(response));
}

void Connection::on_parse_error() {
  Request request;  // what the parser had, for the log; the target may be partial
  request.method_name = "-";
  request.target = "-";
  request.version_minor = 1;
  auto response = Response::error(parser_.error_status(), parser_.error_reason());
  response.close_connection = true;
  ++requests_served_;
  queue_response(request, std::move(response));
}

void Connection::queue_response(const Request& request, Response response) {
  const bool head = request.method == Method::kHead;
  if (head && response.stream) {
    // HEAD gets GET's headers only: the producer's stream is released at once.
    response.stream->detach();
  }
  const bool stream = response.stream != nullptr && !head;
  // A 1.0 client cannot read chunked encoding: its stream ends when the connection does.
  const bool chunked = stream && request.version_minor >= 1;

  // Connection may be sent on several lines; together they form one list (RFC 9110 section 5.3).
  const std::string connection_list = request.header_list("Connection");
  const std::optional<std::string_view> connection_tokens =
      connection_list.empty() ? std::nullopt : std::optional<std::string_view>(connection_list);
  const auto decision = decide_keep_alive({
      .version_minor = request.version_minor,
      .connection = connection_tokens,
      .requests_served = requests_served_,
      .max_requests = context_.limits.max_requests_per_connection,
      .shutting_down = context_.shutting_down,
      .must_close = response.close_connection || request.must_close || (stream && !chunked),
  });
  if (!decision.keep_alive) close_after_flush_ = true;

  // Serialize straight into the tail of the output queue: no intermediate string per response,
  // and a pipeline of small responses becomes one buffer for one writev.
  const bool body_allowed = !head && !status_has_no_body(response.status);
  const bool file_body = body_allowed && response.file && !stream;
  const bool memory_body = body_allowed && !response.file && !stream;
  const std::string_view memory = memory_body ? response.body_view() : std::string_view{};
  std::string& tail = output_tail(memory.size());
  const std::size_t before = tail.size();
  // HEAD of a stream says what GET would: chunked, for a 1.1 client.
  const bool chunked_header = chunked || (head && response.stream && request.version_minor >= 1);
  serialize_head(response,
                 {.head_request = head, .chunked = chunked_header, .connection_header = decision.connection_header},
                 tail);
  std::uint64_t body_bytes = 0;
  if (memory_body) {
    tail += memory;
    body_bytes = memory.size();
  }
  out_bytes_ += tail.size() - before;
  if (file_body) {
    body_bytes = response.file->length;
    if (response.file->length > 0) out_.push_back({{}, std::move(response.file)});
  }

  context_.stats->on_response(response.status);
  if (context_.on_access) {
    context_.on_access({remote_addr_, request.method_name, request.target, request.version_minor, response.status,
                        body_bytes, std::time(nullptr)});
  }

  if (stream) {
    stream_ = std::move(response.stream);
    stream_chunked_ = chunked;
    // The producer may write from any thread: hop onto our loop, and only if we still exist.
    std::weak_ptr<net::EventLoop> weak_loop = context_.loop;
    stream_->attach([weak_loop, weak_self = weak_from_this()] {
      if (auto loop = weak_loop.lock()) {
        loop->post([weak_self] {
          if (auto self = weak_self.lock()) self->on_stream_ready();
        });
      }
    });
    if (context_.shutting_down) finish_stream();
  }
}

std::string& Connection::output_tail(std::size_t expected_bytes) {
  if (out_.empty() || out_.back().file || out_.back().bytes.size() + expected_bytes > kCoalesceLimitBytes) {
    out_.push_back({std::string{}, std::nullopt});
  }
  return out_.back().bytes;
}

void Connection::queue_bytes(std::string_view bytes) {
  if (bytes.empty()) return;
  output_tail(bytes.size()).append(bytes);
  out_bytes_ += bytes.size();
}

void Connection::on_stream_ready() {
  if (state_ != State::kActive || !stream_) return;
  auto [data, closed] = stream_->take();
  if (!data.empty()) {
    if (stream_chunked_) {
      queue_bytes(fmt::format("{:x}\r\n", data.size()));
      queue_bytes(data);
      queue_bytes("\r\n");
    } else {
      queue_bytes(data);
    }
  }
  if (closed) {
    finish_stream();
  } else if (out_bytes_ > kMaxStreamBacklogBytes) {
    // The client reads slower than events arrive: buffering more would let one slow reader
    // grow the server without bound. It reconnects and resumes from Last-Event-ID.
    do_close();
    return;
  }
  pump();
}

void Connection::finish_stream() {
  if (!stream_) return;
  if (stream_chunked_) queue_bytes("0\r\n\r\n");
  stream_->detach();
  stream_.reset();
  close_after_flush_ = true;
}

void Connection::do_write() {
  while (writable_ && !out_.empty()) {
    auto& front = out_.front();
    if (front.file) {
      auto& file = *front.file;
      const auto result = net::sendfile_some(fd_.get(), file.fd->get(), file.offset, file.length);
      if (result.would_block) {
        writable_ = false;
        break;
      }
      if (!result.ok() || result.bytes == 0) {
        // Error, or the file shrank under us: the promised length can no longer be met, so
        // the only honest end is to close this connection.
        if (result.ok()) std::fprintf(stderr, "pulsehttpd: file truncated while sending; closing connection\n");
        do_close();
        return;
      }
      file.length -= result.bytes;
      context_.stats->add_bytes_sent(result.bytes);
      last_write_progress_ = loop_.now();
      last_activity_ = last_write_progress_;
      if (file.length == 0) out_.pop_front();
      continue;
    }
    // Gather consecutive in-memory chunks into one writev.
    std::array<iovec, kMaxIovecs> iov{};
    std::size_t count = 0;
    for (auto it = out_.begin(); it != out_.end() && !it->file && count < kMaxIovecs; ++it, ++count) {
      const std::size_t skip = count == 0 ? out_front_offset_ : 0;
      iov[count].iov_base = it->bytes.data() + skip;
      iov[count].iov_len = it->bytes.size() - skip;
    }
    // A file body right behind these bytes: let headers and body share packets.
    const bool file_follows = count < out_.size() && out_[count].file.has_value();
    const auto result = net::writev_some(fd_.get(), std::span<const iovec>(iov.data(), count), file_follows);
    if (result.would_block) {
      writable_ = false;
      break;
    }
    if (!result.ok()) {
      do_close();
      return;
    }
    context_.stats->add_bytes_sent(result.bytes);
    last_write_progress_ = loop_.now();
    last_activity_ = last_write_progress_;  // the keep-alive idle time starts when the response is out
    std::size_t written = result.bytes;
    out_bytes_ -= written;
    while (written > 0) {
      auto& chunk = out_.front();
      const std::size_t left = chunk.bytes.size() - out_front_offset_;
      if (written >= left) {
        written -= left;
        out_front_offset_ = 0;
        out_.pop_front();
      } else {
        out_front_offset_ += written;
        written = 0;
      }
    }
  }
}

void Connection::begin_shutdown() {
  if (state_ != State::kActive) return;
  if (idle()) {
    do_close();
    return;
  }
  if (stream_) finish_stream();
  // Between requests: close once what is queued is out. A request still arriving is answered
  // with "Connection: close" (context.shutting_down).
  if (!parser_.in_message() && in_start_ == in_buf_.size()) close_after_flush_ = true;
  pump();
}

void Connection::start_lingering_close() {
  // Half-close first and read what the client still sends: closing with unread input would
  // make the kernel send a reset that can destroy the response we just wrote.
  if (peer_eof_) {
    do_close();
    return;
  }
  net::shutdown_write(fd_.get());
  state_ = State::kLingering;
  deadline_ = loop_.now() + kLingerTimeout;
  readable_ = true;  // drain whatever is already buffered
}

void Connection::do_close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  loop_.remove(fd_.get());
  if (timer_) loop_.timers().cancel(*timer_);
  timer_.reset();
  if (stream_) {
    stream_->detach();
    stream_.reset();
  }
  fd_.reset();
  out_.clear();
  context_.stats->on_connection_closed();
  if (context_.on_closed) context_.on_closed(id_);
}

void Connection::compute_deadline() {
  const auto& limits = context_.limits;
  if (state_ != State::kActive) return;  // lingering: fixed when it started
  if (has_output()) {
    deadline_ = last_write_progress_ + limits.write_timeout;
  } else if (stream_) {
    deadline_ = base::MonotonicClock::time_point::max();  // the producer's keep-alive comments keep it busy
  } else if (parser_.in_message() || in_start_ < in_buf_.size()) {
    // From the first byte of a request: progress does not extend it (defeats slowloris).
    deadline_ =
        parser_.headers_complete() ? last_activity_ + limits.header_timeout : request_started_ + limits.header_timeout;
  } else {
    deadline_ = last_activity_ + (requests_served_ == 0 ? limits.header_timeout : limits.keepalive_timeout);
  }
}

void Connection::arm_timer() {
  if (deadline_ == base::MonotonicClock::time_point::max()) {
    if (timer_) loop_.timers().cancel(*timer_);
    timer_.reset();
    return;
  }
  // Re-arm only when the deadline moved earlier; a later one is picked up when the timer fires.
  if (timer_ && timer_at_ <= deadline_) return;
  if (timer_) loop_.timers().cancel(*timer_);
  timer_at_ = deadline_;
  timer_ = loop_.timers().schedule(deadline_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->handle_timeout();
  });
}

void Connection::update_deadline() {
  if (state_ == State::kClosed) return;
  compute_deadline();
  arm_timer();
}

void Connection::handle_timeout() {
  timer_.reset();
  if (state_ == State::kClosed) return;
  compute_deadline();  // activity since arming may have moved it later
  if (loop_.now() < deadline_) {
    arm_timer();
    return;
  }
  if (state_ == State::kLingering || has_output()) {
    do_close();  // linger over, or the client stopped reading: give up on it
    return;
  }
  if (parser_.in_message() || in_start_ < in_buf_.size()) {
    // Tell a slow client why, then close (best effort: the socket is writable unless stuck).
    Request request;
    request.method_name = "-";
    request.target = "-";
    auto response = Response::error(408, "request not received in time");
    response.close_connection = true;
    queue_response(request, std::move(response));
    in_buf_.clear();
    in_start_ = 0;
    pump();
    return;
  }
  do_close();  // idle keep-alive connection
}

}  // namespace pulse::http
