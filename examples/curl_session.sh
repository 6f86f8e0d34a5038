#!/usr/bin/env bash
# A buyer's session against the demo seller (`cargo xtask demo`), with curl only:
# a synchronous wholesale get_products, a brief that hands off with a push config, polling,
# and the signed webhook arriving at a loopback receiver.
set -euo pipefail
AGENT=${AGENT:-http://127.0.0.1:3001/mcp}
TOKEN=${TOKEN:-demo-acme-outdoor-v1}
HOOK_PORT=${HOOK_PORT:-4000}

# A one-file webhook receiver: prints each POST's signature header and JSON body.
python3 - "$HOOK_PORT" <<'PY' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        print("webhook  signature-input:", self.headers.get("signature-input", "")[:60] + "...")
        print("webhook  body:", json.dumps(json.loads(body), indent=None)[:400], flush=True)
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
RECEIVER=$!
trap 'kill $RECEIVER' EXIT
sleep 0.5

post() { curl -s "$AGENT" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
  -H "authorization: Bearer $TOKEN" -H 'mcp-protocol-version: 2025-06-18' ${SESSION:+-H "mcp-session-id: $SESSION"} "$@"; }
# One tools/call; prints the tool's structuredContent.
call() { post -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}" \
  | sed -n 's/^data: //p' | grep '"result"' | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["result"]["structuredContent"]))'; }

SESSION=$(post -D - -o /dev/null -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' \
  | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
post -o /dev/null -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
ACCOUNT='{"brand":{"domain":"acmeoutdoor.example"},"operator":"pinnacle-agency.example"}'

echo "== 1. wholesale get_products (synchronous)"
call get_products "{\"buying_mode\":\"wholesale\",\"account\":$ACCOUNT,\"context\":{\"correlation_id\":\"readme-1\"}}" \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print({k: r[k] for k in ("status","cache_scope","context","adcp_version")}, [p["product_id"] for p in r["products"]])'

echo "== 2. brief get_products with a push config (hands off)"
SUBMITTED=$(call get_products "{\"buying_mode\":\"brief\",\"brief\":\"trail running, fall\",\"account\":$ACCOUNT,
  \"push_notification_config\":{\"url\":\"http://127.0.0.1:$HOOK_PORT/hooks/capture-7\",\"operation_id\":\"op-readme-2\"},
  \"context\":{\"correlation_id\":\"readme-2\"}}")
echo "$SUBMITTED"
TASK=$(echo "$SUBMITTED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["task_id"])')

echo "== 3. polling get_task_status"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  STATUS=$(call get_task_status "{\"task_id\":\"$TASK\",\"account\":$ACCOUNT,\"include_result\":true}")
  echo "$STATUS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["task_id"], r["status"], [p["product_id"] for p in r.get("result",{}).get("products",[])])'
  echo "$STATUS" | grep -q '"status": "completed"' && break
  sleep 0.2
done
sleep 0.5
