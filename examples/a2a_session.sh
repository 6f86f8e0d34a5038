#!/usr/bin/env bash
# An A2A buyer's session against the demo seller (`cargo xtask demo`), with curl only: the agent
# card, a synchronous wholesale get_products, a brief handed off to a task and polled with
# GetTask, its A2A-shaped webhook at a loopback receiver, and a second brief canceled.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:3001}
TOKEN=${TOKEN:-demo-acme-outdoor-v1}
HOOK_PORT=${HOOK_PORT:-4001}

# A one-file webhook receiver: prints each POST's A2A task state and its AdCP metadata.
python3 - "$HOOK_PORT" <<'PY' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        task = json.loads(self.rfile.read(int(self.headers["content-length"])))["task"]
        adcp = task["metadata"]["adcp"]
        print("webhook ", task["id"], task["status"]["state"], adcp["task_type"], adcp["idempotency_key"],
              "signed:", "signature-input" in self.headers, flush=True)
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
RECEIVER=$!
trap 'kill $RECEIVER' EXIT
sleep 0.5

# One JSON-RPC call to /a2a; prints the result (or the error).
rpc() { curl -s "$BASE/a2a" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"; }
# SendMessage with one DataPart {skill, parameters}, plus optional configuration.
send() { rpc SendMessage "{\"message\":{\"messageId\":\"$RANDOM\",\"role\":\"ROLE_USER\",
  \"parts\":[{\"data\":{\"skill\":\"$1\",\"parameters\":$2}}]}${3:+,\"configuration\":$3}}"; }
# The task's state and, for a final state, the AdCP body's summary.
show() { python3 -c '
import json,sys; r=json.load(sys.stdin); t=r["result"].get("task", r["result"])
body=(t.get("artifacts") or [{"parts":[{"data":{}}]}])[0]["parts"][0]["data"] if t.get("artifacts") else t["status"]["message"]["parts"][0]["data"]
print(t["id"], t["status"]["state"], {k: body[k] for k in ("status","task_id","context") if k in body}, [p["product_id"] for p in body.get("products",[])])'; }
ACCOUNT='{"brand":{"domain":"acmeoutdoor.example"},"operator":"pinnacle-agency.example"}'

echo "== 1. the agent card"
curl -s "$BASE/.well-known/agent-card.json" | python3 -c 'import json,sys; c=json.load(sys.stdin)
print(c["supportedInterfaces"][0], c["capabilities"]["pushNotifications"], [s["id"] for s in c["skills"]][:6], "...")'

echo "== 2. wholesale get_products (synchronous)"
send get_products "{\"buying_mode\":\"wholesale\",\"account\":$ACCOUNT,\"context\":{\"correlation_id\":\"a2a-1\"}}" | show

echo "== 3. brief get_products with an A2A push config (hands off)"
SUBMITTED=$(send get_products "{\"buying_mode\":\"brief\",\"brief\":\"trail running, fall\",\"account\":$ACCOUNT,\"context\":{\"correlation_id\":\"a2a-2\"}}" \
  "{\"taskPushNotificationConfig\":{\"url\":\"http://127.0.0.1:$HOOK_PORT/a2a-hook\",\"token\":\"a2a-session-token-0001\"}}")
echo "$SUBMITTED" | show
TASK=$(echo "$SUBMITTED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')

echo "== 4. polling GetTask"
for _ in $(seq 1 20); do
  STATE=$(rpc GetTask "{\"id\":\"$TASK\",\"metadata\":{\"account\":$ACCOUNT}}")
  echo "$STATE" | python3 -c 'import json,sys; t=json.load(sys.stdin)["result"]; print(t["id"], t["status"]["state"])'
  echo "$STATE" | grep -q TASK_STATE_COMPLETED && break
  sleep 0.3
done
echo "$STATE" | python3 -c 'import json,sys; t=json.load(sys.stdin)["result"]; print("result:", [p["product_id"] for p in t["artifacts"][0]["parts"][0]["data"]["products"]])'
sleep 0.5

echo "== 5. another brief, canceled while it runs"
OTHER=$(send get_products "{\"buying_mode\":\"brief\",\"brief\":\"winter camping\",\"account\":$ACCOUNT}" \
  "{\"taskPushNotificationConfig\":{\"url\":\"http://127.0.0.1:$HOOK_PORT/a2a-hook\"}}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
rpc CancelTask "{\"id\":\"$OTHER\",\"metadata\":{\"account\":$ACCOUNT}}" \
  | python3 -c 'import json,sys; t=json.load(sys.stdin)["result"]; print(t["id"], t["status"]["state"])'
# A finished task (canceled or completed) cannot be canceled; no second webhook is sent.
rpc CancelTask "{\"id\":\"$OTHER\",\"metadata\":{\"account\":$ACCOUNT}}" \
  | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print("again:", e["code"], e["data"]["adcp_error"]["code"])'
rpc CancelTask "{\"id\":\"$TASK\",\"metadata\":{\"account\":$ACCOUNT}}" \
  | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print("completed task:", e["code"], e["data"]["adcp_error"]["code"])'
sleep 1
