// How one response goes out on a connection, decided before a byte of it is queued (keep-alive,
// HEAD, event streams, chunked framing), and its bytes serialised into an OutputQueue.
// Pure apart from the queue it is given, so it is tested without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pulse/http/keep_alive.hpp"
#include "pulse/http/output_queue.hpp"
#include "pulse/http/request.hpp"
#include "pulse/http/response.hpp"

namespace pulse::http {

// What the connection adds to the request's own say about keep-alive.
struct PlanContext {
  std::uint64_t requests_served = 1;  // on this connection, this one included
  std::uint64_t max_requests = 0;     // 0: no limit
  bool shutting_down = false;
};

struct ResponsePlan {
  bool head = false;            // GET's headers without the body
  bool stream = false;          // an event stream follows the head
  bool chunked = false;         // the stream is chunked (a 1.0 client gets it raw, ended by the close)
  bool chunked_header = false;  // the head says "chunked": a chunked stream, or HEAD of one
  bool file_body = false;       // the body is a file range, sent with sendfile
  bool memory_body = false;     // the body is in memory, copied into the queue
  KeepAliveDecision keep_alive{true, {}};
};

[[nodiscard]] ResponsePlan plan_response(const Request& request, const Response& response, const PlanContext& context);

// A shared in-memory body this large is queued by reference instead of copied (a rendered list
// that many slow readers fetch); smaller ones are copied, so a pipeline still coalesces.
inline constexpr std::size_t kShareBodiesFromBytes = 16 * 1024;

// Serialises straight into the tail of the queue (no intermediate string per response), so a
// pipeline of small responses becomes one buffer for one writev; moves a file body into the
// queue. Returns the body bytes, for the access log.
std::uint64_t serialize_response(const ResponsePlan& plan, Response& response, OutputQueue& out);

// An event stream's body: what the producer wrote (one chunk when chunked), and its end (the
// last chunk; a raw 1.0 stream ends with the connection).
void append_stream_data(std::string_view data, bool chunked, OutputQueue& out);
// The same for a buffer shared with other streams: queued by reference (only the chunk framing
// is copied).
void append_stream_shared(std::shared_ptr<const std::string> data, bool chunked, OutputQueue& out);
void append_stream_end(bool chunked, OutputQueue& out);

}  // namespace pulse::http
