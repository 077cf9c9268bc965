# Presence registry sources (issue 4). UniqueFd (pulse_net) is the only dependency beyond the
# standard library, fmt and nlohmann-json: presence knows nothing of HTTP.
target_sources(pulse_presence PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/client_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/validation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/presence_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/event_log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/presence_registry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/state_file.cpp)
target_link_libraries(pulse_presence PUBLIC pulse_net)
