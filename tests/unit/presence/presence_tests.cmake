# Presence unit tests (issue 4): in memory, with a ManualClock; no sleeping.
pulse_add_test(unit_presence
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/validation_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/client_state_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/event_log_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/presence_registry_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/presence_registry_concurrency_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/state_file_test.cpp
  LIBS pulse_presence
  LABELS unit)
