# PULSE_STATIC=ON links into every executable what Debian ships as static archives: libstdc++,
# libgcc, fmt and hiredis. glibc and libcurl stay shared libraries: Debian's libcurl.a needs
# archives that Debian does not ship (libkrb5-dev has no libgssapi_krb5.a, libkrb5.a,
# libk5crypto.a or libcom_err.a), so a fully static link fails, and a static glibc cannot sit
# under a shared libcurl. The container image therefore carries the binary, exactly the shared
# libraries `ldd` names for it, the dynamic loader and a CA bundle (see Dockerfile); linking the
# rest in keeps that list short. Defines pulse_fmt, the one way Pulse links fmt.
option(PULSE_STATIC "Link statically what Debian ships as archives (for the container image)" OFF)

# Debian ships fmt only as a shared library (no libfmt.a), so a static build compiles fmt's
# header-only form into Pulse's own objects instead.
add_library(pulse_fmt INTERFACE)
if(PULSE_STATIC)
  if(NOT PULSE_SANITIZE STREQUAL "")
    message(FATAL_ERROR "PULSE_STATIC=ON cannot be combined with PULSE_SANITIZE: "
                        "the sanitizer runtimes want the shared libstdc++")
  endif()
  target_link_libraries(pulse_fmt INTERFACE fmt::fmt-header-only)
  # pkg-config's target names libhiredis.so; libhiredis-dev ships the archive next to it.
  find_library(PULSE_HIREDIS_ARCHIVE NAMES libhiredis.a HINTS ${HIREDIS_LIBRARY_DIRS} REQUIRED)
  set_target_properties(PkgConfig::HIREDIS PROPERTIES INTERFACE_LINK_LIBRARIES ${PULSE_HIREDIS_ARCHIVE})
  # Still a PIE (Debian's default), so address-space randomisation stays. Host names (a Redis
  # host, a beat's URL) resolve through the shared glibc, whose files and dns sources are built
  # in since 2.34: the scratch image needs no NSS modules. Tests link the same way, so the unit
  # tests run against the linking mode that ships.
  add_link_options(-static-libstdc++ -static-libgcc)
else()
  target_link_libraries(pulse_fmt INTERFACE fmt::fmt)
endif()
