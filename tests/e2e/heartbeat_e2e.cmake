# Heartbeat end-to-end tests (issue 4): curl and examples/heartbeat.sh against the binary.
pulse_add_e2e(heartbeat heartbeat.sh)
