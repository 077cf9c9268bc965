#!/usr/bin/env bash
# End to end for static files: curl -O, -r, -z, -C and --compressed, and wget --mirror of the
# default site, against the built binary.
# Usage: static_files.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
SOURCE_DIR=$2
source "$(dirname "$0")/lib.sh"

CURL=(curl -sS --max-time 20)
ROOT="$E2E_TMP/root"
mkdir -p "$ROOT/files" "$E2E_TMP/download"
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$ROOT/files/random.bin"
printf 'body { color: #1d2330; }\n%.0s' $(seq 1 200) >"$ROOT/style.css"
gzip -9 -k "$ROOT/style.css"
echo "hello" >"$ROOT/files/plain file.txt"
touch -d '2024-01-02 03:04:05 UTC' "$ROOT/files/random.bin"

start_server --root "$ROOT" --threads 2 --precompressed --cache-control "public, max-age=60"

# --- curl -O: the download compares equal ---------------------------------------------------------
(cd "$E2E_TMP/download" && "${CURL[@]}" -f -R -O "$BASE_URL/files/random.bin") || fail "curl -O"
cmp -s "$ROOT/files/random.bin" "$E2E_TMP/download/random.bin" || fail "curl -O: the download differs"
pass "curl -O of a 3 MiB file compares equal"

"${CURL[@]}" -f -o "$E2E_TMP/download/plain.txt" "$BASE_URL/files/plain%20file.txt" || fail "curl of a name with a space"
cmp -s "$ROOT/files/plain file.txt" "$E2E_TMP/download/plain.txt" || fail "name with a space: content differs"
pass "a name with a space"

# --- curl -r 0-99: 206 and exactly the first 100 bytes ------------------------------------------
code=$("${CURL[@]}" -r 0-99 -o "$E2E_TMP/download/first100" -w '%{http_code}' "$BASE_URL/files/random.bin")
[ "$code" = 206 ] || fail "curl -r 0-99 answered $code, want 206"
head -c 100 "$ROOT/files/random.bin" | cmp -s - "$E2E_TMP/download/first100" || fail "curl -r 0-99: wrong bytes"
pass "curl -r 0-99"

# --- curl -C -: resume a partial download -------------------------------------------------------
head -c 123457 "$ROOT/files/random.bin" >"$E2E_TMP/download/resumed.bin"
"${CURL[@]}" -f -C - -o "$E2E_TMP/download/resumed.bin" "$BASE_URL/files/random.bin" || fail "curl -C -"
cmp -s "$ROOT/files/random.bin" "$E2E_TMP/download/resumed.bin" || fail "curl -C -: resumed file differs"
pass "curl -C - resumes a partial download"

# --- curl -z: If-Modified-Since ------------------------------------------------------------------
# -R kept the server's Last-Modified on the download, so -z with it is "not modified".
code=$("${CURL[@]}" -z "$E2E_TMP/download/random.bin" -o "$E2E_TMP/download/z1" -w '%{http_code}' "$BASE_URL/files/random.bin")
[ "$code" = 304 ] || fail "curl -z with the file's own time answered $code, want 304"
[ ! -s "$E2E_TMP/download/z1" ] || fail "a 304 carried a body"
code=$("${CURL[@]}" -z 'Tue, 02 Jan 2024 03:04:05 GMT' -o /dev/null -w '%{http_code}' "$BASE_URL/files/random.bin")
[ "$code" = 304 ] || fail "curl -z at Last-Modified answered $code, want 304"
code=$("${CURL[@]}" -z 'Mon, 01 Jan 2024 00:00:00 GMT' -o "$E2E_TMP/download/z2" -w '%{http_code}' "$BASE_URL/files/random.bin")
[ "$code" = 200 ] || fail "curl -z before Last-Modified answered $code, want 200"
cmp -s "$ROOT/files/random.bin" "$E2E_TMP/download/z2" || fail "curl -z: the 200 body differs"
pass "curl -z: 304 when not modified, 200 when modified"

# --- curl --compressed: the precompressed sibling -------------------------------------------------
headers=$("${CURL[@]}" --compressed -D - -o "$E2E_TMP/download/style.css" "$BASE_URL/style.css" | tr -d '\r')
printf '%s' "$headers" | grep -qi '^Content-Encoding: gzip' || fail "no Content-Encoding: gzip: $headers"
printf '%s' "$headers" | grep -qi '^Vary: Accept-Encoding' || fail "no Vary: Accept-Encoding: $headers"
printf '%s' "$headers" | grep -qi '^Content-Type: text/css; charset=utf-8' || fail "wrong Content-Type: $headers"
cmp -s "$ROOT/style.css" "$E2E_TMP/download/style.css" || fail "the decompressed body differs"
headers=$("${CURL[@]}" -D - -o "$E2E_TMP/download/style-identity.css" "$BASE_URL/style.css" | tr -d '\r')
printf '%s' "$headers" | grep -qi '^Content-Encoding' && fail "gzip sent to a client that did not ask: $headers"
cmp -s "$ROOT/style.css" "$E2E_TMP/download/style-identity.css" || fail "the identity body differs"
pass "curl --compressed gets the .gz sibling; plain curl gets the file"

stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "server exited $STOP_STATUS"

# --- wget --mirror of the default site ------------------------------------------------------------
if ! command -v wget >/dev/null; then
  echo "skip: wget is not installed (scripts/setup.sh test installs it)"
  exit 0
fi
start_server --root "$SOURCE_DIR/www" --threads 2
MIRROR="$E2E_TMP/mirror"
WGET=(timeout 60 wget --mirror -e robots=off --no-host-directories --timeout=10 --tries=1 -P "$MIRROR")
# Exit status 8 would mean a broken link (an error response) somewhere in the site.
"${WGET[@]}" -nv "$BASE_URL/" "$BASE_URL/docs/" 2>"$E2E_TMP/wget.log" || { cat "$E2E_TMP/wget.log" >&2; fail "wget --mirror failed"; }
count=0
while IFS= read -r -d '' file; do
  relative=${file#"$SOURCE_DIR/www/"}
  [ -f "$MIRROR/$relative" ] || fail "wget --mirror did not reach $relative (nothing links to it?)"
  cmp -s "$file" "$MIRROR/$relative" || fail "mirrored $relative differs from the source"
  count=$((count + 1))
done < <(find "$SOURCE_DIR/www" -type f ! -name '.*' -print0)
[ "$count" -ge 3 ] || fail "the default site has only $count files"
pass "wget --mirror fetched all $count files of the default site, byte-exact"

# A second mirror revalidates: wget sends If-Modified-Since and the server answers 304.
"${WGET[@]}" -S "$BASE_URL/" "$BASE_URL/docs/" 2>"$E2E_TMP/wget2.log" || { cat "$E2E_TMP/wget2.log" >&2; fail "second wget --mirror failed"; }
grep -q 'HTTP/1.1 304' "$E2E_TMP/wget2.log" || fail "the second mirror saw no 304: $(cat "$E2E_TMP/wget2.log")"
pass "a second wget --mirror revalidates with 304s"

stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "server exited $STOP_STATUS"
