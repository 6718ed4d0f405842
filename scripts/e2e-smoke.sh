#!/usr/bin/env bash
# Starts rema exactly as the README says (`npm start`, embedded PostgreSQL, fresh data dir),
# then over HTTP makes one valid write and one write a rule refuses, and checks both answers.
set -euo pipefail
cd "$(dirname "$0")/.."

# A free port, unless one is given: several smokes may run on one machine.
port=${SMOKE_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
data=$(mktemp -d)
chmod 755 "$data" # the embedded PostgreSQL runs as its own user and must reach its data dir
log="$data/serve.log"
cleanup() {
  # npm does not hand the signal on to the server it started: stop the whole process group
  # (npm, the launcher's node and the embedded PostgreSQL it runs), and wait until it is gone.
  if [ -n "${pid:-}" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

# A session of its own, so that cleanup can stop every process of it.
PORT=$port REMA_DATA_DIR="$data/rema" setsid npm start >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "rema exited during start:"; cat "$log"; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "rema did not become ready"; cat "$log"; exit 1; }
grep -q "API docs:" "$log" || { echo "start-up did not print the docs URL"; cat "$log"; exit 1; }
token=$(sed -n 's/^API token: //p' "$log")
[ -n "$token" ] || { echo "start-up did not print a token"; cat "$log"; exit 1; }

api() { # method path [body] -> prints "status body"
  local out
  out=$(curl -sS -o "$data/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$port$2" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+--data "$3"})
  echo "$out $(cat "$data/body")"
}
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s.slice(s.indexOf(" ")+1));console.log(o[process.argv[1]])})' "$1"; }
expect() { # expected-status response label
  local status=${2%% *}
  if [ "$status" != "$1" ]; then echo "FAIL $3: expected $1, got $2"; exit 1; fi
  echo "ok   $3 ($status)"
}

r=$(api POST /v1/sites '{"code":"SMOKE-1","name":"Smoke site","timezone":"Europe/Berlin","network":{"subnet":"10.9.0.0/24","router":"10.9.0.1"}}')
expect 201 "$r" "create a site"
site=$(echo "$r" | field id)

r=$(api POST /v1/assets "{\"siteId\":\"$site\",\"kind\":\"gateway\",\"modelId\":\"nexa-gw-200\",\"name\":\"GW-1\",\"serial\":\"SMOKE-GW-1\",\"firmware\":\"2.3.1\",\"config\":{\"hostname\":\"gw-1\",\"ip\":\"10.9.0.10\",\"protocols\":[\"modbus-rtu\",\"mqtt\"],\"pollIntervalMs\":5000,\"buses\":{\"rs485-1\":{\"protocol\":\"modbus-rtu\",\"baud\":19200,\"parity\":\"even\",\"stopBits\":1,\"maxDevices\":32}}}}")
expect 201 "$r" "valid write: a gateway"
gw=$(echo "$r" | field id)

r=$(api POST /v1/assets "{\"siteId\":\"$site\",\"kind\":\"meter\",\"modelId\":\"voltis-em-340\",\"name\":\"M-1\",\"parentId\":\"$gw\",\"port\":\"rs485-1\",\"config\":{\"unitId\":5,\"serial\":{\"baud\":19200,\"parity\":\"even\",\"stopBits\":1},\"pollIntervalMs\":15000,\"ct\":{\"primaryA\":100,\"secondary\":\"5A\"},\"ratedCurrentA\":80,\"phases\":3}}")
expect 201 "$r" "valid write: meter M-1 on unit id 5"

r=$(api POST /v1/assets "{\"siteId\":\"$site\",\"kind\":\"meter\",\"modelId\":\"voltis-em-340\",\"name\":\"M-2\",\"parentId\":\"$gw\",\"port\":\"rs485-1\",\"config\":{\"unitId\":5,\"serial\":{\"baud\":19200,\"parity\":\"even\",\"stopBits\":1},\"pollIntervalMs\":15000,\"ct\":{\"primaryA\":100,\"secondary\":\"5A\"},\"ratedCurrentA\":80,\"phases\":3}}")
expect 409 "$r" "refused write: meter M-2 on the same unit id"
echo "$r" | grep -q '"code":"UNIT_ID_TAKEN"' || { echo "FAIL: the refusal does not name UNIT_ID_TAKEN: $r"; exit 1; }

r=$(api GET "/v1/audit/verify")
expect 200 "$r" "audit chain verifies"
echo "$r" | grep -q '"ok":true' || { echo "FAIL: audit chain not intact: $r"; exit 1; }
echo "e2e smoke passed"
