// Badges: a client's or a group's state as a flat two-part SVG, and the GET/HEAD handling around
// it (ETag from what the badge shows, 304, a short max-age).
#include "pulse/handlers/heartbeat/badge.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "pulse/handlers/heartbeat/json.hpp"
#include "pulse/http/conditional.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::handlers::heartbeat {
namespace {

using presence::ClientState;

constexpr std::string_view kLabelColour = "#4a4f57";
constexpr std::string_view kGroupLabel = "clients";
constexpr int kHeight = 20;
constexpr int kPadding = 6;    // each side of each text, in px
constexpr int kFontSize = 11;  // px
constexpr int kBaseline = 14;  // px from the top
constexpr int kVerdanaUnitsPerEm = 2048;
// Advance widths of Verdana for ' ' to '~', in font units: an estimate only (textLength pins
// the final width), but close enough that the boxes neither crowd nor swim around the text.
constexpr std::array<std::uint16_t, 95> kVerdanaAdvance{
    720,  807,  941,  1716, 1302, 2210, 1495, 551,  1002, 1002, 1302, 1716, 743,  862,  743,  1245,  // ' '../
    1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 887,  887,  1716, 1716, 1716, 1100,  // 0..?
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 862,  936,  1415, 1145, 1731, 1532, 1615,  // @..O
    1235, 1615, 1428, 1401, 1241, 1507, 1401, 2031, 1403, 1241, 1399, 1002, 1245, 1002, 1716, 1302,  // P.._
    1302, 1229, 1270, 1064, 1270, 1215, 721,  1270, 1294, 563,  700,  1202, 563,  1986, 1294, 1233,  // `..o
    1270, 1270, 874,  1064, 807,  1294, 1202, 1657, 1202, 1202, 1050, 1300, 1002, 1300, 1716};       // p..~
// Any other character (a UTF-8 sequence in a label) counts as a wide lowercase letter.
constexpr std::uint16_t kOtherAdvance = 1300;

// FNV-1a: the ETag only has to change when the badge does.
std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

bool is_get_or_head(const http::Request& request) {
  return request.method == http::Method::kGet || request.method == http::Method::kHead;
}

// label= and prefix= become SVG text: valid UTF-8 without control characters, and short.
std::optional<std::string> badge_text_error(std::string_view name, std::string_view text) {
  if (text.size() > kMaxBadgeTextBytes) {
    return fmt::format("{} is {} bytes long; at most {} are allowed", name, text.size(), kMaxBadgeTextBytes);
  }
  if (!presence::is_valid_utf8(text)) return fmt::format("{} is not valid UTF-8", name);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    // XML does not allow most control characters, and none belongs on a badge.
    if (byte < 0x20 || byte == 0x7f) return fmt::format("{} contains the control character 0x{:02X}", name, byte);
  }
  return std::nullopt;
}

// "web-" names its group "web": the separator says nothing on a badge.
std::string_view group_name(std::string_view prefix) {
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '_' || prefix.back() == '.')) {
    prefix.remove_suffix(1);
  }
  return prefix.empty() ? kGroupLabel : prefix;
}

http::Response svg_response(int status, const Badge& badge, const http::Request& request, bool with_etag) {
  http::Response response;
  response.status = status;
  response.body = render_badge_svg(badge);
  response.set_header("Content-Type", "image/svg+xml");
  response.set_header("Cache-Control", std::string(kBadgeCacheControl));
  // Opened on its own, the image is a document of this origin: it may run nothing.
  response.set_header("Content-Security-Policy", "default-src 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  if (!with_etag) return response;

  const std::string etag = fmt::format("\"b{:016x}\"", fnv1a(response.body));
  response.set_header("ETag", etag);
  if (const auto if_none_match = request.header("If-None-Match")) {
    http::ConditionalHeaders conditions;
    conditions.if_none_match = if_none_match;
    http::Validators validators;
    validators.etag = etag;
    if (http::evaluate_preconditions(conditions, validators) == http::Precondition::kNotModified) {
      response.status = 304;
      response.body.clear();
      // A 304 carries no Content-Type; the cache keeps the one it stored.
      std::erase_if(response.headers, [](const http::Header& header) { return header.name == "Content-Type"; });
    }
  }
  return response;
}

}  // namespace

std::string_view badge_colour(std::optional<ClientState> tone) noexcept {
  if (!tone) return "#636b75";
  switch (*tone) {
    case ClientState::kUp: return "#2e7d32";
    case ClientState::kLate: return "#9a6700";
    case ClientState::kFailing: return "#c2410c";
    case ClientState::kDown: return "#c62828";
    case ClientState::kPaused: return "#1d6aa5";
  }
  return "#636b75";
}

std::optional<ClientState> worst_state(const presence::StateCounts& counts) noexcept {
  // Worst first: what someone glancing at a README must see first.
  for (const ClientState state :
       {ClientState::kDown, ClientState::kFailing, ClientState::kLate, ClientState::kPaused, ClientState::kUp}) {
    if (counts[state] > 0) return state;
  }
  return std::nullopt;
}

Badge client_badge(std::string_view id, std::optional<ClientState> state) {
  return {std::string(id), state ? std::string(presence::to_string(*state)) : std::string("unknown"), state};
}

Badge group_badge(std::string_view label, const presence::StateCounts& counts) {
  const auto total = counts.total();
  if (total == 0) return {std::string(label), "no clients", std::nullopt};
  return {std::string(label), fmt::format("{}/{} up", counts[ClientState::kUp], total), worst_state(counts)};
}

int badge_text_width(std::string_view text) noexcept {
  std::uint64_t units = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e) {
      units += kVerdanaAdvance[byte - 0x20];
    } else if ((byte & 0xc0) != 0x80) {  // the first byte of a UTF-8 sequence: one character
      units += kOtherAdvance;
    }
  }
  const std::uint64_t scaled = units * kFontSize;
  return static_cast<int>((scaled + kVerdanaUnitsPerEm - 1) / kVerdanaUnitsPerEm);
}

std::string render_badge_svg(const Badge& badge) {
  const std::string label = http::escape_html(badge.label);
  const std::string message = http::escape_html(badge.message);
  const int label_text = badge_text_width(badge.label);
  const int message_text = badge_text_width(badge.message);
  const int label_width = label_text + 2 * kPadding;
  const int message_width = message_text + 2 * kPadding;
  const int width = label_width + message_width;
  // Text is drawn twice: a faint dark copy one pixel lower keeps white text legible on any
  // colour, as on a printed label.
  auto text = [](int centre, int length, std::string_view content) {
    return fmt::format(
        "<text x=\"{0}\" y=\"{1}\" fill=\"#000\" fill-opacity=\".25\" textLength=\"{2}\" "
        "lengthAdjust=\"spacingAndGlyphs\">{3}</text>"
        "<text x=\"{0}\" y=\"{4}\" textLength=\"{2}\" lengthAdjust=\"spacingAndGlyphs\">{3}</text>",
        centre, kBaseline + 1, length, content, kBaseline);
  };
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" aria-label=\"{2}: {3}\">"
      "<title>{2}: {3}</title>"
      "<clipPath id=\"round\"><rect width=\"{0}\" height=\"{1}\" rx=\"3\"/></clipPath>"
      "<g clip-path=\"url(#round)\">"
      "<rect width=\"{4}\" height=\"{1}\" fill=\"{5}\"/>"
      "<rect x=\"{4}\" width=\"{6}\" height=\"{1}\" fill=\"{7}\"/>"
      "</g>"
      "<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,'DejaVu Sans',sans-serif\" "
      "font-size=\"{8}\">{9}{10}</g>"
      "</svg>\n",
      width, kHeight, label, message, label_width, kLabelColour, message_width, badge_colour(badge.tone), kFontSize,
      text(label_width / 2, label_text, label), text(label_width + message_width / 2, message_text, message));
}

http::Response handle_badge(presence::PresenceStore& store, const http::Request& request,
                            std::optional<std::string_view> id) {
  if (!is_get_or_head(request)) {
    auto response =
        json_error(405, "method_not_allowed",
                   fmt::format("{} is not allowed here; use GET, HEAD (a badge is an image)", request.method_name));
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  std::optional<std::string> label = request.query_param("label");
  if (label) {
    if (auto error = badge_text_error("label", *label)) return json_error(400, "invalid_label", *error);
  }

  if (!id) {
    presence::ListFilter filter;
    if (auto prefix = request.query_param("prefix")) filter.prefix = std::move(*prefix);
    if (auto error = badge_text_error("prefix", filter.prefix)) return json_error(400, "invalid_prefix", *error);
    presence::StateCounts counts;
    if (filter.prefix.empty()) {
      counts = store.counters().clients;  // no copy of every client for the whole fleet
    } else {
      for (const auto& client : store.list(filter).clients) ++counts.by_state[presence::index_of(client.state)];
    }
    return svg_response(200, group_badge(label ? *label : group_name(filter.prefix), counts), request, true);
  }

  if (auto error = presence::client_id_error(*id)) return json_error(400, "invalid_id", *error);
  const auto client = store.find(*id);
  if (!client) {
    // Still an image, so a README shows "unknown" rather than a broken picture.
    return svg_response(404, client_badge(label ? *label : *id, std::nullopt), request, false);
  }
  return svg_response(200, client_badge(label ? *label : *id, client->state), request, true);
}

}  // namespace pulse::handlers::heartbeat
