// The connection state machine as a table: every (state, event) pair, and the names for logs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

#include "pulse/http/connection_state.hpp"

using pulse::http::ConnectionEvent;
using pulse::http::ConnectionState;
using pulse::http::next_state;

TEST_CASE("connection state transitions", "[connection_state]") {
  using S = ConnectionState;
  using E = ConnectionEvent;
  struct Transition {
    S from;
    E event;
    S to;
  };
  // Every transition that changes the state; any other (state, event) pair leaves it as it is.
  const Transition changes[] = {
      {S::kOpen, E::kNoMoreRequests, S::kClosingAfterFlush},
      {S::kOpen, E::kStreamStarted, S::kStreaming},
      {S::kOpen, E::kPeerEof, S::kPeerHalfClosed},
      {S::kClosingAfterFlush, E::kStreamStarted, S::kStreaming},
      {S::kClosingAfterFlush, E::kPeerEof, S::kPeerHalfClosed},
      {S::kClosingAfterFlush, E::kOutputFlushed, S::kLingering},
      {S::kClosingAfterFlush, E::kFlushedNothingUnread, S::kClosed},
      {S::kPeerHalfClosed, E::kStreamStarted, S::kStreamingToHalfClosedPeer},
      {S::kPeerHalfClosed, E::kOutputFlushed, S::kClosed},
      {S::kPeerHalfClosed, E::kFlushedNothingUnread, S::kClosed},
      {S::kStreaming, E::kStreamFinished, S::kClosingAfterFlush},
      {S::kStreaming, E::kPeerEof, S::kClosed},
      {S::kStreamingToHalfClosedPeer, E::kStreamFinished, S::kPeerHalfClosed},
      {S::kOpen, E::kResponseDeferred, S::kAwaitingResponse},
      {S::kPeerHalfClosed, E::kResponseDeferred, S::kAwaitingResponseToHalfClosedPeer},
      {S::kAwaitingResponse, E::kResponseReady, S::kOpen},
      {S::kAwaitingResponse, E::kPeerEof, S::kAwaitingResponseToHalfClosedPeer},
      {S::kAwaitingResponseToHalfClosedPeer, E::kResponseReady, S::kPeerHalfClosed},
      {S::kLingering, E::kPeerEof, S::kClosed},
  };
  const S states[] = {S::kOpen,
                      S::kClosingAfterFlush,
                      S::kPeerHalfClosed,
                      S::kStreaming,
                      S::kStreamingToHalfClosedPeer,
                      S::kAwaitingResponse,
                      S::kAwaitingResponseToHalfClosedPeer,
                      S::kLingering,
                      S::kClosed};
  const E events[] = {E::kNoMoreRequests,   E::kStreamStarted,        E::kStreamFinished,
                      E::kResponseDeferred, E::kResponseReady,        E::kPeerEof,
                      E::kOutputFlushed,    E::kFlushedNothingUnread, E::kCloseNow};
  for (const S from : states) {
    for (const E event : events) {
      INFO(to_string(from) << " + " << to_string(event));
      S expected = event == E::kCloseNow ? S::kClosed : from;
      for (const auto& change : changes) {
        if (change.from == from && change.event == event) expected = change.to;
      }
      CHECK(next_state(from, event) == expected);
    }
  }
}

TEST_CASE("connection states and events have distinct names", "[connection_state]") {
  using S = ConnectionState;
  const S states[] = {S::kOpen,
                      S::kClosingAfterFlush,
                      S::kPeerHalfClosed,
                      S::kStreaming,
                      S::kStreamingToHalfClosedPeer,
                      S::kAwaitingResponse,
                      S::kAwaitingResponseToHalfClosedPeer,
                      S::kLingering,
                      S::kClosed};
  std::vector<std::string_view> names;
  for (const S state : states) names.push_back(to_string(state));
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  CHECK(std::find(names.begin(), names.end(), "?") == names.end());
  CHECK(to_string(ConnectionEvent::kPeerEof) == "peer EOF");
}

TEST_CASE("state predicates name the conditions the connection checks", "[connection_state]") {
  using S = ConnectionState;
  using pulse::http::closes_when_flushed;
  using pulse::http::is_serving;
  using pulse::http::is_streaming;
  using pulse::http::parses_requests;
  // A half-closed peer's already buffered request is still answered; nothing after a closing
  // response is.
  CHECK(parses_requests(S::kOpen));
  CHECK(parses_requests(S::kPeerHalfClosed));
  CHECK_FALSE(parses_requests(S::kClosingAfterFlush));
  CHECK_FALSE(parses_requests(S::kStreaming));
  CHECK(closes_when_flushed(S::kClosingAfterFlush));
  CHECK(closes_when_flushed(S::kPeerHalfClosed));
  CHECK_FALSE(closes_when_flushed(S::kStreaming));  // a stream's end is its own event
  CHECK(is_streaming(S::kStreamingToHalfClosedPeer));
  CHECK_FALSE(is_serving(S::kLingering));
  CHECK_FALSE(is_serving(S::kClosed));
  CHECK(is_serving(S::kStreaming));
  // Awaiting a deferred response: parse nothing more, and never close on an empty queue.
  using pulse::http::is_awaiting_response;
  CHECK(is_awaiting_response(S::kAwaitingResponse));
  CHECK(is_awaiting_response(S::kAwaitingResponseToHalfClosedPeer));
  CHECK_FALSE(is_awaiting_response(S::kOpen));
  CHECK_FALSE(parses_requests(S::kAwaitingResponse));
  CHECK_FALSE(closes_when_flushed(S::kAwaitingResponseToHalfClosedPeer));
  CHECK(is_serving(S::kAwaitingResponse));
}
