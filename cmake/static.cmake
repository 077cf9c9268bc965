# PULSE_STATIC=ON links every executable fully statically (glibc, libstdc++, fmt): the container
# image then holds the binary and nothing else. Defines pulse_fmt, the one way Pulse links fmt.
option(PULSE_STATIC "Link executables fully statically (for the scratch container image)" OFF)

# Debian ships fmt only as a shared library (no libfmt.a), so a static build compiles fmt's
# header-only form into Pulse's own objects instead.
add_library(pulse_fmt INTERFACE)
if(PULSE_STATIC)
  if(NOT PULSE_SANITIZE STREQUAL "")
    message(FATAL_ERROR "PULSE_STATIC=ON cannot be combined with PULSE_SANITIZE: "
                        "the sanitizer runtimes are shared libraries")
  endif()
  target_link_libraries(pulse_fmt INTERFACE fmt::fmt-header-only)
  # pkg-config's target names libhiredis.so, which a static link refuses; libhiredis-dev ships
  # the archive next to it.
  find_library(PULSE_HIREDIS_ARCHIVE NAMES libhiredis.a HINTS ${HIREDIS_LIBRARY_DIRS} REQUIRED)
  set_target_properties(PkgConfig::HIREDIS PROPERTIES INTERFACE_LINK_LIBRARIES ${PULSE_HIREDIS_ARCHIVE})
  # static-pie keeps address-space randomisation that a plain -static link would give up.
  # A static glibc cannot load NSS modules. Pulse itself resolves numeric addresses only
  # (inet_pton); hiredis resolves a Redis host name with getaddrinfo, which needs none: glibc
  # 2.34 and later build the files and dns sources in (the container test resolves `redis` so
  # on scratch). Tests link the same way, so the unit tests run against the linking mode that
  # ships.
  add_link_options(-static-pie)
else()
  target_link_libraries(pulse_fmt INTERFACE fmt::fmt)
endif()
