#!/usr/bin/env bash
# End to end: every curl example of the README's heartbeat section, run as written against the
# built binary. The examples to run are the fenced blocks that follow a `<!-- e2e: run -->` line;
# each line starting with `curl` is one example. The README's address (127.0.0.1:8080) becomes
# the test server's, streams (`curl -N`) are cut after 2 s, and every other example must exit 0
# (they use `-f`: an HTTP error fails). A block marked `<!-- e2e: run, expect-fail -->` holds
# examples that must fail (an HTTP error on purpose). A README that loses its marked blocks
# fails this test too, so it cannot pass by running nothing.
# Usage: readme_examples.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
README="$2/README.md"
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

# One line per example: "<run|expect-fail>\t<command>".
python3 - "$README" >"$E2E_TMP/examples" <<'EOF'
import re, sys
mode, in_block, armed = None, False, None
for line in open(sys.argv[1], encoding="utf-8"):
    text = line.rstrip("\n")
    marker = re.match(r"<!-- e2e: run(, expect-fail)? -->", text.strip())
    if marker and not in_block:
        armed = "expect-fail" if marker.group(1) else "run"
        continue
    if text.startswith("```"):
        if in_block:
            in_block, mode = False, None
        elif armed:
            in_block, mode, armed = True, armed, None
        continue
    if in_block and text.lstrip().startswith("curl "):
        # A trailing comment explains the example to people; the shell ignores it anyway.
        print(f"{mode}\t{text.strip()}")
EOF
count=$(wc -l <"$E2E_TMP/examples")
[ "$count" -ge 10 ] || fail "the README has only $count marked curl examples (expected at least 10)"

start_server --root "$E2E_TMP" --threads 2
host_port=${BASE_URL#http://}

ran=0
while IFS=$'\t' read -r mode command; do
  command=${command//127.0.0.1:8080/$host_port}
  # The examples run from a temporary folder with a file the log examples upload.
  status=0
  if [[ "$command" == *" -N "* ]]; then
    (cd "$E2E_TMP" && timeout 5 bash -c "${command/curl -N/curl -N -m 2}" >"$E2E_TMP/out" 2>&1) || status=$?
    # 28: curl's own time limit, the normal end of a stream example.
    if [ "$status" = 28 ]; then status=0; fi
  else
    (cd "$E2E_TMP" && printf 'backup started\n3 files copied\n' >backup.log &&
      timeout 15 bash -c "$command" >"$E2E_TMP/out" 2>&1) || status=$?
  fi
  if [ "$mode" = run ] && [ "$status" != 0 ]; then
    fail "README example failed (exit $status): $command: $(head -c 400 "$E2E_TMP/out")"
  fi
  if [ "$mode" = expect-fail ] && [ "$status" = 0 ]; then
    fail "README example meant to fail succeeded: $command: $(head -c 400 "$E2E_TMP/out")"
  fi
  ran=$((ran + 1))
done <"$E2E_TMP/examples"
pass "$ran README curl examples, run as written"

stop_server
[ "$STOP_STATUS" = 0 ] || fail "server exited $STOP_STATUS"
