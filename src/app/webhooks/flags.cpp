// The --webhook flags: definitions, environment variables, and checks with one-line errors.
#include "pulse/app/webhooks/flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "pulse/app/config.hpp"

namespace pulse::app::webhooks {
namespace {

using std::chrono::milliseconds;

// A server name goes into Idempotency-Key headers and texts: a host name's characters.
constexpr std::size_t kMaxServerNameBytes = 64;

bool is_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// "10s", "5m", "24h", "250ms": the default as --help shows it.
std::string format_default(milliseconds value) {
  const auto ms = value.count();
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

void add_duration(CLI::App& app, const std::string& name, milliseconds& target, const std::string& env,
                  const std::string& help) {
  app.add_option_function<std::int64_t>(
         name, [&target](std::int64_t ms) { target = milliseconds(ms); }, help)
      ->envname(env)
      ->transform(CLI::Validator(
          [](std::string& text) -> std::string {
            const auto parsed = parse_duration(text);
            if (!parsed) return fmt::format("'{}' is not a duration (examples: 15s, 500ms, 2m)", text);
            text = std::to_string(parsed->count());
            return {};
          },
          ""))
      ->type_name("DURATION")
      ->default_str(format_default(target));
}

}  // namespace

void add_webhook_flags(CLI::App& app, WebhookFlags& flags) {
  // Not split at commas: a URL may hold one (a query string, a path), so each --webhook is one
  // URL, whole. Only PULSE_WEBHOOK, one variable for several, is split (check_webhook_flags), so
  // no envname() here: CLI11 would hand its value over as one URL.
  app.add_option("--webhook", flags.urls,
                 "POST a JSON alert to this http:// or https:// URL when a client goes down or failing, and when it "
                 "recovers (repeat the flag for several; without it, PULSE_WEBHOOK holds URLs separated by commas). "
                 "Slack- and Mattermost-style incoming-webhook URLs work as they are")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("URL");
  app.add_option("--webhook-on", flags.on,
                 "What is alerted: any of down, failing, up (back from down or failing), late, paused, join, leave")
      ->envname("PULSE_WEBHOOK_ON")
      ->type_name("LIST");
  app.add_flag("--webhook-joins", flags.joins, "Alert on new clients, sign-offs and expiries too (adds join,leave)")
      ->envname("PULSE_WEBHOOK_JOINS");
  app.add_option("--server-name", flags.server_name, "This server's name in alerts (default: the host name)")
      ->envname("PULSE_SERVER_NAME")
      ->type_name("NAME");
  app.add_option("--webhook-queue", flags.queue_capacity,
                 "Alerts waiting per webhook URL at most; beyond, new ones are dropped (and counted)")
      ->envname("PULSE_WEBHOOK_QUEUE")
      ->check(CLI::Range(std::size_t{1}, kMaxQueueCapacity));
  add_duration(app, "--webhook-timeout", flags.timeout, "PULSE_WEBHOOK_TIMEOUT",
               "Each webhook request ends within this, connecting included");
  add_duration(app, "--webhook-retry-base", flags.retry_base, "PULSE_WEBHOOK_RETRY_BASE",
               "First retry within this; each later one within twice the last (random, full jitter)");
  add_duration(app, "--webhook-retry-max", flags.retry_max, "PULSE_WEBHOOK_RETRY_MAX", "Longest wait between retries");
  add_duration(app, "--webhook-give-up", flags.give_up, "PULSE_WEBHOOK_GIVE_UP",
               "Stop retrying an alert this long after its first try (it counts as failed)");
  app.add_option("--webhook-cacert", flags.ca_file,
                 "Trust the certificates in this PEM file for https:// webhooks, instead of the system's")
      ->envname("PULSE_WEBHOOK_CACERT")
      ->type_name("PATH");
}

std::vector<std::string> split_webhook_list(std::string_view text) {
  std::vector<std::string> urls;
  while (true) {
    const auto comma = text.find(',');
    std::string_view piece = text.substr(0, comma);
    while (!piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    while (!piece.empty() && piece.back() == ' ') piece.remove_suffix(1);
    if (!piece.empty()) urls.emplace_back(piece);
    if (comma == std::string_view::npos) return urls;
    text.remove_prefix(comma + 1);
  }
}

WebhookOptions check_webhook_flags(const WebhookFlags& flags) {
  WebhookOptions options;
  // The environment only when the command line names no URL, as CLI11 does for other flags.
  const char* env = flags.urls.empty() ? std::getenv(kWebhookEnv) : nullptr;
  options.urls = env != nullptr ? split_webhook_list(env) : flags.urls;
  for (const auto& url : options.urls) {
    if (auto error = url_error(url)) {
      throw ConfigError(
          fmt::format("--webhook: {}{}", *error, env != nullptr ? " (from environment variable PULSE_WEBHOOK)" : ""));
    }
  }
  auto triggers = parse_triggers(flags.on);
  if (!triggers) {
    throw ConfigError(fmt::format(
        "--webhook-on: '{}' is not a list of down, failing, up, late, paused, join, leave (comma-separated)",
        flags.on));
  }
  if (flags.joins) *triggers |= *parse_triggers(kJoinTriggers);
  options.triggers = *triggers;
  options.server_name = flags.server_name.empty() ? host_name() : flags.server_name;
  if (options.server_name.size() > kMaxServerNameBytes ||
      !std::all_of(options.server_name.begin(), options.server_name.end(), is_name_char)) {
    throw ConfigError(fmt::format("--server-name: must be 1 to {} characters of A-Z a-z 0-9 . _ -{}",
                                  kMaxServerNameBytes, flags.server_name.empty() ? " (the host name is not)" : ""));
  }
  options.queue_capacity = flags.queue_capacity;
  if (flags.timeout.count() <= 0) throw ConfigError("--webhook-timeout: must be positive");
  if (flags.retry_base.count() <= 0) throw ConfigError("--webhook-retry-base: must be positive");
  if (flags.retry_max < flags.retry_base)
    throw ConfigError("--webhook-retry-max: must be at least --webhook-retry-base");
  if (flags.give_up.count() <= 0) throw ConfigError("--webhook-give-up: must be positive");
  options.request_timeout = flags.timeout;
  options.retry_base = flags.retry_base;
  options.retry_max = flags.retry_max;
  options.give_up = flags.give_up;
  if (!flags.ca_file.empty()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(flags.ca_file, error)) {
      throw ConfigError(fmt::format("--webhook-cacert: {} is not a readable file", flags.ca_file));
    }
  }
  options.ca_file = flags.ca_file;
  return options;
}

}  // namespace pulse::app::webhooks
