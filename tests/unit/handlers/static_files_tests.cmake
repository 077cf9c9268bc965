# Static files unit tests (issue 3). docroot_test and static_files_test use a scratch directory;
# the rest are pure.
target_sources(unit_handlers PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/path_sanitizer_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mime_types_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/byte_range_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conditional_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_date_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/accept_encoding_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/autoindex_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/docroot_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_version_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_cache_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/file_lookup_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/static_files_test.cpp)
