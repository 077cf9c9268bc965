# Static file serving sources (issue 3): one responsibility per file, see each file's first line.
target_sources(pulse_handlers PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/static_files.cpp
  ${CMAKE_CURRENT_LIST_DIR}/docroot.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_version.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_lookup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/path_sanitizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mime_types.cpp
  ${CMAKE_CURRENT_LIST_DIR}/byte_range.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conditional.cpp
  ${CMAKE_CURRENT_LIST_DIR}/accept_encoding.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_date.cpp
  ${CMAKE_CURRENT_LIST_DIR}/autoindex.cpp)
