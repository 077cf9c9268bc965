# Heartbeat API, its server-sent events and /metrics (issue 4).
target_sources(pulse_handlers PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_service.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_api.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_events.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heartbeat_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metrics.cpp)
