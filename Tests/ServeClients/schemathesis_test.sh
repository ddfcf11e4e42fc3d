#!/usr/bin/env bash
# Fuzzes a real `breakerctl serve` with schemathesis (generated and malformed requests, from the
# OpenAPI document it serves): no 5xx, every response conforms to the document.
# Usage: Tests/ServeClients/schemathesis_test.sh PATH/TO/breakerctl WORKDIR PATH/TO/schemathesis
set -euo pipefail
breakerctl=$1 work=$2 schemathesis=$3
mkdir -p "$work"
token="operator-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$token" > "$work/operator.token"
# Every tenant has an objective, so that /v1/slo answers rows to check against the document.
echo '{"slo": {"objective": 99.5, "minTurns": 1}}' > "$work/config.json"
"$breakerctl" serve --db "$work/fuzz.sqlite" --port 0 --config "$work/config.json" --operator-token-file "$work/operator.token" 2> "$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start"; cat "$work/serve.log"; exit 1; }
url="http://127.0.0.1:$port"
# schemathesis keeps a cache in its working directory: the work directory, not the checkout.
cd "$work"
# /v1/events is an endless stream: it is checked by the interop test instead.
"$schemathesis" run "$url/openapi.json" --url "$url" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    -H "Authorization: Bearer $token" --exclude-path /v1/events \
    --max-examples 30 --seed 7 --request-timeout 10 --max-time 60 --generation-database none
kill -TERM $pid
wait $pid
trap - EXIT
"$breakerctl" verify --db "$work/fuzz.sqlite"
echo "schemathesis: no issues"
