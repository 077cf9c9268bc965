// pulsehttpd entry point: parse flags, then serve, probe or beat.
#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "pulse/app/beat.hpp"
#include "pulse/app/config.hpp"
#include "pulse/app/probe.hpp"
#include "pulse/app/server.hpp"

namespace {

// Every connection and cached open file is a descriptor: use the hard limit, not the default
// soft limit of 1024 (which --max-connections 10000 would hit long before).
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pulse::app;
  Config config;
  try {
    config = parse_config(argc, argv);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "pulsehttpd: %s\n", e.what());
    return 2;
  }
  switch (config.command) {
    case Command::kExit: std::fputs(config.exit_output.c_str(), stdout); return config.exit_code;
    case Command::kProbe: return run_probe(config.probe);
    case Command::kBeat: return run_beat(config.beat, stdout);
    case Command::kServe: break;
  }
  raise_open_file_limit();
  try {
    Server server(config);
    const auto& address = server.local_address();
    std::printf("pulsehttpd listening on http://%s (root %s, %u threads)\n", address.to_string().c_str(),
                config.static_files.root.c_str(), config.threads);
    std::fflush(stdout);
    return server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pulsehttpd: %s\n", e.what());
    return 1;
  }
}
