# Heartbeat and metrics unit tests (issue 4): handlers driven with hand-made requests and a
# ManualClock, no sockets.
target_sources(unit_handlers PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_api_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_events_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_json_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metrics_test.cpp)
