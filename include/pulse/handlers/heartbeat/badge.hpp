// Badges: small flat SVG images of one client's state (/heartbeat/{id}/badge.svg) or of a group's
// (/heartbeat/badge.svg?prefix=web-), for READMEs and dashboards. Rendering is pure; the request
// handling reads the store, so it runs wherever HeartbeatApi::route() runs (never on an event
// loop when the store may block).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pulse/http/request.hpp"
#include "pulse/http/response.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// The file name that makes a heartbeat path a badge: /heartbeat/badge.svg (a group) and
// /heartbeat/{id}/badge.svg (one client). Not an id at /heartbeat/<x>.
inline constexpr std::string_view kBadgeName = "badge.svg";
// A badge's label= and prefix= text: more would not fit a README line, and no id is longer.
inline constexpr std::size_t kMaxBadgeTextBytes = 64;
// Long enough that many dashboards showing one badge ask the server once per period, short
// enough that a change shows within seconds; the ETag makes the revalidation after it a 304.
inline constexpr std::string_view kBadgeCacheControl = "max-age=10";

struct Badge {
  std::string label;    // the left half: the client's id, or the group's name
  std::string message;  // the right half: "up", "3/4 up", "unknown"
  // The right half's colour; nullopt is grey (an unknown id, a group with no clients).
  std::optional<presence::ClientState> tone;

  friend bool operator==(const Badge&, const Badge&) = default;
};

// The right half's background for `tone` ("#rrggbb"); each passes WCAG AA (4.5:1) under white text.
[[nodiscard]] std::string_view badge_colour(std::optional<presence::ClientState> tone) noexcept;

// The worst state among `counts` (down, failing, late, paused, up in that order); nullopt when
// there are no clients.
[[nodiscard]] std::optional<presence::ClientState> worst_state(const presence::StateCounts& counts) noexcept;

// One client: its id and state; an unknown id (nullopt) reads "unknown", in grey.
[[nodiscard]] Badge client_badge(std::string_view id, std::optional<presence::ClientState> state);
// A group: "3/4 up", coloured by its worst state; "no clients" in grey when it is empty.
[[nodiscard]] Badge group_badge(std::string_view label, const presence::StateCounts& counts);

// The badge as a standalone SVG document. Both texts are escaped; their widths are estimated
// from Verdana's advance widths and pinned with textLength, so any fallback font fits the boxes.
[[nodiscard]] std::string render_badge_svg(const Badge& badge);
// Approximate rendered width of `text` in Verdana 11 px, in pixels (rounded up).
[[nodiscard]] int badge_text_width(std::string_view text) noexcept;

// The answer to a badge request: one client's (`id`, percent-decoded) or, for nullopt, the
// group's of prefix= (/heartbeat/badge.svg). GET and HEAD only; label= overrides the label.
// Calls the store: run it where HeartbeatApi::route() runs.
[[nodiscard]] http::Response handle_badge(presence::PresenceStore& store, const http::Request& request,
                                          std::optional<std::string_view> id);

}  // namespace pulse::handlers::heartbeat
