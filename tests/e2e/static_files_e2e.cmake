# Static files end-to-end tests (issue 3): curl and wget against the built binary.
pulse_add_e2e(static_files static_files.sh)
