// The phases of a client connection and every transition between them, as one pure function, so
// the life of a connection can be read (and tested) as a table.
#pragma once

#include <string_view>

namespace pulse::http {

enum class ConnectionState {
  kOpen,                              // reading requests and answering them; more may follow (keep-alive)
  kClosingAfterFlush,                 // the last response is queued: parse nothing more, then lingering close
  kPeerHalfClosed,                    // the peer sent EOF: answer what is already complete, flush, close at once
  kStreaming,                         // an event stream is the response; read only to notice the peer leaving
  kStreamingToHalfClosedPeer,         // the same after the peer's EOF: there is nothing left to read
  kAwaitingResponse,                  // a handler answers later (DeferredResponse): parse nothing more until then
  kAwaitingResponseToHalfClosedPeer,  // the same after the peer's EOF: answer it, then close
  kLingering,                         // SHUT_WR sent: read and discard until EOF or kLingerTimeout
  kClosed,
};

enum class ConnectionEvent {
  kNoMoreRequests,        // the response just queued is the last, or shutdown came between requests
  kStreamStarted,         // the head of an event-stream response is queued
  kStreamFinished,        // the producer closed the stream, or the server is shutting down
  kResponseDeferred,      // the handler returned a DeferredResponse
  kResponseReady,         // the DeferredResponse was completed; its response is queued next
  kPeerEof,               // read() returned 0
  kOutputFlushed,         // everything queued is written
  kFlushedNothingUnread,  // the same, and no input is left unread: closing cannot reset anything
  kCloseNow,              // I/O error or reset, a deadline passed, a slow stream reader, idle at shutdown, abort()
};

[[nodiscard]] std::string_view to_string(ConnectionState state) noexcept;
[[nodiscard]] std::string_view to_string(ConnectionEvent event) noexcept;

// The state after `event`. Every pair the switch does not name leaves the state as it is.
[[nodiscard]] ConnectionState next_state(ConnectionState state, ConnectionEvent event) noexcept;

// Bytes are fed to the parser (a half-closed peer's already buffered request still is).
[[nodiscard]] constexpr bool parses_requests(ConnectionState state) noexcept {
  return state == ConnectionState::kOpen || state == ConnectionState::kPeerHalfClosed;
}

[[nodiscard]] constexpr bool is_streaming(ConnectionState state) noexcept {
  return state == ConnectionState::kStreaming || state == ConnectionState::kStreamingToHalfClosedPeer;
}

// A DeferredResponse is outstanding: its request is kept, pipelined bytes stay buffered, and no
// request or keep-alive timeout runs (the producer answers within its own).
[[nodiscard]] constexpr bool is_awaiting_response(ConnectionState state) noexcept {
  return state == ConnectionState::kAwaitingResponse || state == ConnectionState::kAwaitingResponseToHalfClosedPeer;
}

// The connection closes once its queued output is written (a stream's end is its own event).
[[nodiscard]] constexpr bool closes_when_flushed(ConnectionState state) noexcept {
  return state == ConnectionState::kClosingAfterFlush || state == ConnectionState::kPeerHalfClosed;
}

// Requests may still be answered and output written: neither lingering nor closed.
[[nodiscard]] constexpr bool is_serving(ConnectionState state) noexcept {
  return state != ConnectionState::kLingering && state != ConnectionState::kClosed;
}

}  // namespace pulse::http
