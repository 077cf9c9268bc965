// Webhook options: the trigger words, URL checks (through libcurl's own parser, the one that
// will send to it) and the default server name.
#include "pulse/app/webhooks/options.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>

namespace pulse::app::webhooks {
namespace {

constexpr std::array<std::string_view, kTriggerCount> kTriggerNames{"down",   "failing", "up",   "late",
                                                                    "paused", "join",    "leave"};

struct UrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const noexcept { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

CurlString url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK) return nullptr;
  return CurlString(text);
}

bool became(const presence::PresenceEvent& event, presence::ClientState state) noexcept {
  return event.kind == presence::EventKind::kChange && event.client.state == state;
}

}  // namespace

std::string_view to_string(Trigger trigger) noexcept {
  return kTriggerNames[index_of(trigger)];
}

std::optional<Triggers> parse_triggers(std::string_view text) {
  Triggers triggers;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view word = text.substr(0, comma);
    const auto* found = std::find(kTriggerNames.begin(), kTriggerNames.end(), word);
    if (found == kTriggerNames.end()) return std::nullopt;
    triggers.set(static_cast<std::size_t>(found - kTriggerNames.begin()));
    if (comma == std::string_view::npos) return triggers;
    text.remove_prefix(comma + 1);
  }
}

std::string format_triggers(const Triggers& triggers) {
  std::string text;
  for (std::size_t i = 0; i < kTriggerCount; ++i) {
    if (!triggers.test(i)) continue;
    if (!text.empty()) text += ',';
    text += kTriggerNames[i];
  }
  return text;
}

bool is_bad_alert(const presence::PresenceEvent& event) noexcept {
  using presence::ClientState;
  if (event.kind == presence::EventKind::kLeave) return false;
  return event.client.state == ClientState::kDown || event.client.state == ClientState::kFailing;
}

bool wanted(const presence::PresenceEvent& event, const Triggers& triggers, bool alerted_bad) noexcept {
  using presence::ClientState;
  auto on = [&](Trigger trigger) { return triggers.test(index_of(trigger)); };
  switch (event.kind) {
    case presence::EventKind::kJoin:
      return on(Trigger::kJoin) || (on(Trigger::kFailing) && event.client.state == ClientState::kFailing);
    case presence::EventKind::kLeave: return on(Trigger::kLeave);
    case presence::EventKind::kChange: break;
  }
  if (became(event, ClientState::kDown)) return on(Trigger::kDown);
  if (became(event, ClientState::kFailing)) return on(Trigger::kFailing);
  if (became(event, ClientState::kLate)) return on(Trigger::kLate);
  if (became(event, ClientState::kPaused)) return on(Trigger::kPaused);
  // Back to up: only for an id somebody was alerted about, by this process (alerted_bad: late or
  // paused may have come between) or by whichever made the move to a bad state it comes from.
  if (!became(event, ClientState::kUp) || !on(Trigger::kUp)) return false;
  return alerted_bad || (event.previous == ClientState::kDown && on(Trigger::kDown)) ||
         (event.previous == ClientState::kFailing && on(Trigger::kFailing));
}

std::optional<std::string> url_error(const std::string& url) {
  const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed) return "out of memory";
  // Without CURLU_DEFAULT_SCHEME, "hooks.example.com/x" is refused rather than guessed.
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return fmt::format("'{}' is not a URL (http://HOST[:PORT]/PATH or https://...)", url_label(url));
  }
  const auto scheme = url_part(parsed.get(), CURLUPART_SCHEME);
  const std::string_view name = scheme ? scheme.get() : "";
  if (name != "http" && name != "https") {
    return fmt::format("only http:// and https:// URLs are allowed, not {}://", name);
  }
  const auto host = url_part(parsed.get(), CURLUPART_HOST);
  if (!host || *host.get() == '\0') return fmt::format("'{}' names no host", url_label(url));
  // libcurl reads "http:///x" as the host "x": an empty authority is a mistake, not a host.
  if (const auto authority = url.find("://"); authority != std::string::npos && url.size() > authority + 3 &&
                                              url[authority + 3] == '/') {
    return fmt::format("'{}' names no host (nothing between :// and the path)", url);
  }
  return std::nullopt;
}

std::string url_label(const std::string& url) {
  const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (parsed && curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    const auto scheme = url_part(parsed.get(), CURLUPART_SCHEME);
    const auto host = url_part(parsed.get(), CURLUPART_HOST);
    const auto port = url_part(parsed.get(), CURLUPART_PORT);
    if (scheme && host) {
      return port ? fmt::format("{}://{}:{}", scheme.get(), host.get(), port.get())
                  : fmt::format("{}://{}", scheme.get(), host.get());
    }
  }
  // Unparsable: up to the end of the authority, so a secret path still stays out.
  const auto authority = url.find("://");
  const auto end = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  return url.substr(0, end);
}

std::string host_name() {
  std::array<char, HOST_NAME_MAX + 1> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  return name.data();
}

}  // namespace pulse::app::webhooks
