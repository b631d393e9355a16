#!/usr/bin/env bash
# check-metrics.sh BIN_DIR: starts the greeter server on 127.0.0.1 with
# Bulwark's server chain, drives calls through every component (successes,
# application errors, a panic, overload), and checks its /metrics with
# `promtool check metrics`. Installs promtool and curl from Debian when they
# are missing.
set -euo pipefail
bin=${1:-.bin}

# Debian packages of the tools this needs that the machine lacks.
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus) # promtool
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-metrics: installing ${missing[*]} from Debian"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

out=$(mktemp) err=$(mktemp)
"$bin/greeter-server" -addr 127.0.0.1:0 -metrics-addr 127.0.0.1:0 -chaos -limit 64 -breaker -fail-rate 0.2 -fail-code UNAVAILABLE >"$out" 2>"$err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$out" "$err"' EXIT

for _ in $(seq 100); do
  grep -q '^greeter: http on' "$out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$err"; exit 1; }
  sleep 0.05
done
grpc=$(sed -n 's/^greeter: listening on \([^ ]*\).*/\1/p' "$out")
http=$(sed -n 's/^greeter: http on \(http:\/\/[^ ]*\).*/\1/p' "$out")
[ -n "$grpc" ] && [ -n "$http" ] || { echo "check-metrics: the server did not start"; cat "$out" "$err"; exit 1; }

client="$bin/greeter-client -target $grpc -json"
$client -n 40 -c 4 >/dev/null
for fault in error=DB_ERROR error=VALIDATION_ERROR plain-error panic; do
  $client -n 2 -fault "$fault" >/dev/null
done
$client -n 5 -method stream >/dev/null
$client -n 5 -method bidi >/dev/null

metrics=$(curl -sf "$http/metrics")
echo "check-metrics: $(grep -c '^[a-z]' <<<"$metrics") samples, $(grep -c '^# TYPE bulwark_' <<<"$metrics") bulwark_* and $(grep -c '^# TYPE grpc_' <<<"$metrics") grpc_* families"
for family in grpc_server_handled_total grpc_server_handling_seconds bulwark_server_application_errors_total bulwark_concurrency_in_flight bulwark_circuit_calls_total; do
  grep -q "^# TYPE $family " <<<"$metrics" || { echo "check-metrics: /metrics lacks $family"; exit 1; }
done
promtool check metrics <<<"$metrics"
echo "check-metrics: promtool check metrics passed"
