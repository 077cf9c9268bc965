# Warning flags for Pulse's own code (not for llhttp's generated C).
add_library(pulse_warnings INTERFACE)
target_compile_options(pulse_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wimplicit-fallthrough -Wformat=2
  # Not -Wnull-dereference: at -O2/-O3 GCC 12 reports it inside libstdc++ (vector<string>
  # insertion) on correct code, and an optimiser-dependent warning cannot gate CI.
  # Designated initializers that rely on member defaults are an idiom here, not a mistake.
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports -Wrestrict inside libstdc++'s std::string at -O2 (GCC bug 105329), on code
  # that is correct; GCC 13 fixed it.
  target_compile_options(pulse_warnings INTERFACE -Wno-restrict)
endif()
if(PULSE_WERROR)
  target_compile_options(pulse_warnings INTERFACE -Werror)
endif()
