// Connection phases: the transition table and names for logs.
#include "pulse/http/connection_state.hpp"

namespace pulse::http {

std::string_view to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::kOpen: return "open";
    case ConnectionState::kClosingAfterFlush: return "closing after flush";
    case ConnectionState::kPeerHalfClosed: return "peer half-closed";
    case ConnectionState::kStreaming: return "streaming";
    case ConnectionState::kStreamingToHalfClosedPeer: return "streaming to a half-closed peer";
    case ConnectionState::kAwaitingResponse: return "awaiting a deferred response";
    case ConnectionState::kAwaitingResponseToHalfClosedPeer:
      return "awaiting a deferred response to a half-closed peer";
    case ConnectionState::kLingering: return "lingering";
    case ConnectionState::kClosed: return "closed";
  }
  return "?";
}

std::string_view to_string(ConnectionEvent event) noexcept {
  switch (event) {
    case ConnectionEvent::kNoMoreRequests: return "no more requests";
    case ConnectionEvent::kStreamStarted: return "stream started";
    case ConnectionEvent::kStreamFinished: return "stream finished";
    case ConnectionEvent::kResponseDeferred: return "response deferred";
    case ConnectionEvent::kResponseReady: return "deferred response ready";
    case ConnectionEvent::kPeerEof: return "peer EOF";
    case ConnectionEvent::kOutputFlushed: return "output flushed";
    case ConnectionEvent::kFlushedNothingUnread: return "output flushed, nothing unread";
    case ConnectionEvent::kCloseNow: return "close now";
  }
  return "?";
}

ConnectionState next_state(ConnectionState state, ConnectionEvent event) noexcept {
  using State = ConnectionState;
  using Event = ConnectionEvent;
  if (event == Event::kCloseNow) return State::kClosed;
  switch (state) {
    case State::kOpen:
      switch (event) {
        case Event::kNoMoreRequests: return State::kClosingAfterFlush;
        case Event::kStreamStarted: return State::kStreaming;
        // The peer may have half-closed right after its last request: answer, then close.
        case Event::kPeerEof: return State::kPeerHalfClosed;
        case Event::kResponseDeferred: return State::kAwaitingResponse;
        default: return state;
      }
    case State::kClosingAfterFlush:
      switch (event) {
        // A stream answering a "Connection: close" request: its end closes the connection.
        case Event::kStreamStarted: return State::kStreaming;
        case Event::kPeerEof: return State::kPeerHalfClosed;
        // Half-close first and read what the client still sends: closing with unread input
        // would make the kernel send a reset that can destroy the response just written.
        case Event::kOutputFlushed: return State::kLingering;
        // Nothing was left unread (a plain request with Connection: close): close at once,
        // saving the shutdown, the wait for the client's FIN and the read that sees it.
        case Event::kFlushedNothingUnread: return State::kClosed;
        default: return state;
      }
    case State::kPeerHalfClosed:
      switch (event) {
        case Event::kStreamStarted: return State::kStreamingToHalfClosedPeer;
        // The peer has nothing more to send, so nothing can be reset: no lingering.
        case Event::kOutputFlushed:
        case Event::kFlushedNothingUnread: return State::kClosed;
        case Event::kResponseDeferred: return State::kAwaitingResponseToHalfClosedPeer;
        default: return state;
      }
    case State::kStreaming:
      switch (event) {
        case Event::kStreamFinished: return State::kClosingAfterFlush;
        case Event::kPeerEof: return State::kClosed;  // the watcher left
        default: return state;
      }
    case State::kStreamingToHalfClosedPeer:
      switch (event) {
        case Event::kStreamFinished: return State::kPeerHalfClosed;
        default: return state;
      }
    case State::kAwaitingResponse:
      switch (event) {
        // Back to answering: queuing the response decides what follows (keep-alive, close, a
        // stream), exactly as if the handler had returned it. Shutdown (kNoMoreRequests) waits
        // for it too: the response then says "Connection: close".
        case Event::kResponseReady: return State::kOpen;
        // A client may half-close right after its request: it still gets its answer.
        case Event::kPeerEof: return State::kAwaitingResponseToHalfClosedPeer;
        default: return state;
      }
    case State::kAwaitingResponseToHalfClosedPeer:
      switch (event) {
        case Event::kResponseReady: return State::kPeerHalfClosed;
        default: return state;
      }
    case State::kLingering:
      switch (event) {
        case Event::kPeerEof: return State::kClosed;
        default: return state;
      }
    case State::kClosed: return state;
  }
  return state;
}

}  // namespace pulse::http
