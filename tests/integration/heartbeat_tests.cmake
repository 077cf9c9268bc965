# Heartbeat integration tests (issue 4): the whole server in-process, over real sockets.
pulse_add_test(integration_heartbeat SOURCES ${CMAKE_CURRENT_LIST_DIR}/heartbeat_test.cpp LIBS pulse_app
               LABELS integration)
