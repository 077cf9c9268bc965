# Every dependency comes from a Debian 12 package (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

# llhttp ships as C sources (package node-llhttp); we compile them into a static library.
set(PULSE_LLHTTP_SRC_DIR /usr/share/llhttp CACHE PATH "llhttp C sources")
set(PULSE_LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp header")
if(NOT EXISTS ${PULSE_LLHTTP_SRC_DIR}/llhttp.c OR NOT EXISTS ${PULSE_LLHTTP_INCLUDE_DIR}/llhttp.h)
  message(FATAL_ERROR "llhttp not found: install the Debian package node-llhttp (scripts/setup.sh)")
endif()
add_library(llhttp STATIC
  ${PULSE_LLHTTP_SRC_DIR}/api.c ${PULSE_LLHTTP_SRC_DIR}/http.c ${PULSE_LLHTTP_SRC_DIR}/llhttp.c)
target_include_directories(llhttp SYSTEM PUBLIC ${PULSE_LLHTTP_INCLUDE_DIR})
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
# Strict mode: no lenient paths (each is a smuggling vector), e.g. chunk data must end in CRLF.
target_compile_definitions(llhttp PUBLIC LLHTTP_STRICT_MODE=1)

if(PULSE_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  include(Catch)
endif()

# hiredis (libhiredis-dev 0.14) for the Redis presence store, found through pkg-config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# Outgoing HTTP (pulsehttpd beat, webhooks): TLS, proxies, timeouts and connection reuse.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
