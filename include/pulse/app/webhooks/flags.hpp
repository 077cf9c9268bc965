// The --webhook flags: their CLI11 definitions and the checks that turn them into WebhookOptions.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/app/webhooks/options.hpp"

namespace pulse::app::webhooks {

// What the flags hold until they are checked.
struct WebhookFlags {
  std::vector<std::string> urls;
  std::string on{kDefaultTriggers};
  bool joins = false;
  std::string server_name;
  std::size_t queue_capacity = kDefaultQueueCapacity;
  std::chrono::milliseconds timeout = kDefaultRequestTimeout;
  std::chrono::milliseconds retry_base = kDefaultRetryBase;
  std::chrono::milliseconds retry_max = kDefaultRetryMax;
  std::chrono::milliseconds give_up = kDefaultGiveUp;
  std::string ca_file;
};

// The environment variable for --webhook: several URLs, separated by commas.
inline constexpr const char* kWebhookEnv = "PULSE_WEBHOOK";

// --webhook URL (repeatable, each one URL whole, commas included; without it, PULSE_WEBHOOK:
// URLs separated by commas), --webhook-on,
// --webhook-joins, --server-name, --webhook-queue, --webhook-timeout, --webhook-retry-base,
// --webhook-retry-max, --webhook-give-up, --webhook-cacert.
void add_webhook_flags(CLI::App& app, WebhookFlags& flags);

// PULSE_WEBHOOK's value as URLs: split at commas, spaces around each trimmed, empty ones skipped.
[[nodiscard]] std::vector<std::string> split_webhook_list(std::string_view text);

// The URLs are flags.urls, or PULSE_WEBHOOK's when there are none. Throws ConfigError (one
// line naming the flag) for a bad URL, trigger, name or duration.
[[nodiscard]] WebhookOptions check_webhook_flags(const WebhookFlags& flags);

}  // namespace pulse::app::webhooks
