# Static files integration tests (issue 3): the in-process server over real sockets.
pulse_add_test(integration_static_files SOURCES ${CMAKE_CURRENT_LIST_DIR}/static_files_test.cpp
               LIBS pulse_app LABELS integration)
