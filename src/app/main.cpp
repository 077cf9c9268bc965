// pulsehttpd entry point: parse flags, then serve, probe or beat.
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <memory>

#include "pulse/app/beat.hpp"
#include "pulse/app/config.hpp"
#include "pulse/app/probe.hpp"
#include "pulse/app/server.hpp"
#include "pulse/base/log.hpp"

namespace {

// Descriptors a worker keeps beyond its connections (cached files, epoll, eventfd), and the
// process beyond its workers (listening socket, logs, state file, spare).
constexpr rlim_t kDescriptorsPerWorker = 80;
constexpr rlim_t kDescriptorsForProcess = 32;

// Every connection and cached open file is a descriptor: use the hard limit, not the default
// soft limit of 1024 (which --max-connections 10000 would hit long before), and say so when even
// that cannot hold --max-connections: the acceptor would shed connections below the limit.
void raise_open_file_limit(const pulse::app::Config& config) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
    (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const rlim_t needed = config.limits.max_connections + config.threads * kDescriptorsPerWorker + kDescriptorsForProcess;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    pulse::base::log_warning({.action = "starting up"},
                             "the open-file limit ({}) is below what --max-connections {} needs (about {}); raise "
                             "it (ulimit -n) or lower --max-connections",
                             limit.rlim_cur, config.limits.max_connections, needed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pulse::app;
  Config config;
  try {
    config = parse_config(argc, argv);
  } catch (const ConfigError& e) {
    // The command line's own answer, not the server's log: one line naming the flag, status 2.
    std::fprintf(stderr, "pulsehttpd: %s\n", e.what());
    return 2;
  }
  switch (config.command) {
    case Command::kExit: std::fputs(config.exit_output.c_str(), stdout); return config.exit_code;
    case Command::kProbe: return run_probe(config.probe);
    case Command::kBeat: return run_beat(config.beat, stdout);
    case Command::kServe: break;
  }
  raise_open_file_limit(config);
  std::unique_ptr<Server> server;
  try {
    server = std::make_unique<Server>(config);
  } catch (const std::exception& e) {
    pulse::base::log_error({.action = "starting up"}, "{}", e.what());
    return 1;
  }
  std::printf("pulsehttpd listening on http://%s (root %s, %u threads)\n", server->local_address().to_string().c_str(),
              config.static_files.root.c_str(), config.threads);
  std::fflush(stdout);
  try {
    return server->run();
  } catch (const std::exception& e) {
    pulse::base::log_error({.action = "serving"}, "{}", e.what());
    return 1;
  }
}
