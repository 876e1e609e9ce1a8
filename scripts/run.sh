#!/usr/bin/env bash
# Sets up, builds and starts `faultline serve` with the built-in default chain
# (enrich -> redact -> classify -> score), sends the sample events to it with
# curl, shows the issues they were grouped into, and keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --locked
DATA="${FAULTLINE_DEMO_DATA:-target/demo-data}"
ADDR="${FAULTLINE_DEMO_ADDR:-127.0.0.1:8080}"
rm -rf "$DATA"
LOG="$(mktemp)"
./target/release/faultline serve --data-dir "$DATA" --listen "$ADDR" > "$LOG" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
cat "$LOG"
KEY="$(grep -o 'fl_[0-9a-f]*' "$LOG")"
echo
echo "== POST examples/events.ndjson to http://$ADDR/api/v1/events"
curl -sS -X POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/x-ndjson" --data-binary @examples/events.ndjson "http://$ADDR/api/v1/events"
echo
echo
echo "== GET /api/v1/issues?sort=impact"
curl -sS -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/issues?sort=impact" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["issues"]:
    code = (i["classification"] or {}).get("code", "-")
    print("%3d  %-26s x%d  %s" % (i["max_impact"], code, i["count"], i["title"][:70]))
'
echo
echo "== GET /api/v1/events/6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01 (stored redacted)"
curl -sS -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/events/6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01" | python3 -m json.tool | head -40
echo
echo "faultline is serving on http://$ADDR with admin key $KEY; Ctrl-C stops it."
wait $SERVER
