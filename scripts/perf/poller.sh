#!/usr/bin/env bash
# Benchmark 10 (docs/performance.md): the health poller's cost on real PostgreSQL.
#
#   scripts/perf/poller.sh        # PERF_DATABASES=1000 PERF_INTERVAL=30 PERF_SECONDS=120
#
# Starts the real PostgreSQL lab (scripts/pg-lab.sh), stops the lab's own control plane,
# and starts `fleetdeck serve` with the postgres executor on a config that declares
# PERF_DATABASES primaries, each pointed at one of the lab's two primary servers, polled
# every PERF_INTERVAL seconds. Drills are left unconfigured (each database's first drill
# is refused at once and retried an hour later), so what is measured is the poller.
# After a warm-up of two intervals it counts, over PERF_SECONDS, the control plane's CPU
# seconds (/proc/PID/stat) and samples the connections it holds open on the servers
# (pg_stat_activity, by application and address). Stops and removes everything at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${PERF_DATABASES:-1000}"
INTERVAL="${PERF_INTERVAL:-30}"
SECS="${PERF_SECONDS:-120}"
WARM=$((INTERVAL * 2))
LAB="$(mktemp -d "${TMPDIR:-/tmp}/fleetdeck-poller.XXXXXX")"
rmdir "$LAB"
SERVE_PID=""

cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    "$ROOT/scripts/pg-lab.sh" down "$LAB" >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [[ -z "${FLEETDECK_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin fleetdeck)
    export FLEETDECK_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/fleetdeck"
fi
echo "machine: $(nproc) cores; $(free -h | awk '/^Mem:/ {print $2 " memory"}'); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "binary: $FLEETDECK_BIN; $N databases, interval ${INTERVAL} s, measured over ${SECS} s after ${WARM} s"

eval "$("$ROOT/scripts/pg-lab.sh" up "$LAB" 2>"$LAB.up.log")"
rm -f "$LAB.up.log"
kill "$(cat "$LAB/serve.pid")"
while kill -0 "$(cat "$LAB/serve.pid")" 2>/dev/null; do sleep 0.1; done

port_of() { awk -v id="$1" '$1 == "id" && $3 == "\"" id "\"" { found = 1 } found && $1 == "port" { print $3; exit }' "$LAB/fleet.toml"; }
pa="$(port_of pg-lab-a)"
pb="$(port_of pg-lab-b)"
{
    # The lab's executor settings, without its drills and databases.
    awk '/^\[executor.postgres.drill\]/ { skip = 1 } /^\[health\]/ { skip = 0 } /^\[\[database\]\]/ { exit } !skip' "$LAB/fleet.toml" \
        | sed "s/^interval_seconds = .*/interval_seconds = $INTERVAL/"
    for i in $(seq 1 "$N"); do
        port=$pa
        (( i % 2 )) || port=$pb
        printf '\n[[database]]\nid = "poll-%04d"\nengine = "postgres"\nengine_version = "15"\n' "$i"
        printf 'environment = "dev"\ntier = 3\nregion = "loopback"\nowner_team = "perf"\nrole = "primary"\n'
        printf 'ring = 0\nhost = "127.0.0.1"\nbackup = { schedule = "none", retention_days = 7 }\n'
        printf '[database.connection]\nport = %s\n' "$port"
    done
} >"$LAB/poll.toml"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"$FLEETDECK_BIN" serve --state "$LAB/poll.db" --tokens "$LAB/tokens" --config "$LAB/poll.toml" \
    --listen "127.0.0.1:$PORT" </dev/null >"$LAB/poll.log" 2>&1 &
SERVE_PID=$!
sleep "$WARM"
kill -0 "$SERVE_PID" || { tail -n 20 "$LAB/poll.log"; exit 1; }

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$SERVE_PID/stat"; }
conns() {
    local total=0 port n
    for port in "$pa" "$pb"; do
        n=$(PGPASSWORD="$(cat "$LAB/secrets/pg-password")" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atq \
            -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr = '127.0.0.1' AND pid <> pg_backend_pid()")
        total=$((total + n))
    done
    echo "$total"
}
cpu0="$(cpu)"
max_conns=0
sum_conns=0
samples=0
end=$((SECONDS + SECS))
while (( SECONDS < end )); do
    c="$(conns)"
    (( c > max_conns )) && max_conns=$c
    sum_conns=$((sum_conns + c))
    samples=$((samples + 1))
    sleep 1
done
cpu1="$(cpu)"
# Every database must have been checked, and found healthy, for the figure to mean anything.
healthy="$(curl -sf -H "Authorization: Bearer $FLEETDECK_TOKEN" "http://127.0.0.1:$PORT/v1/databases" \
    | python3 -c 'import json, sys; print(sum(d["health"]["status"] == "healthy" for d in json.load(sys.stdin)))')"
echo "databases healthy at the end: $healthy of $N"
rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status")"
checks=$(( N * SECS / INTERVAL ))
python3 - "$cpu0" "$cpu1" "$SECS" "$checks" "$max_conns" "$sum_conns" "$samples" "$rss" <<'EOF'
import sys
cpu0, cpu1, secs, checks, maxc, sumc, samples, rss = map(float, sys.argv[1:])
used = cpu1 - cpu0
print(f"control plane CPU: {used:.2f} s over {secs:.0f} s = {100 * used / secs:.2f} % of one core")
print(f"  about {checks:.0f} checks: {1000 * used / max(checks, 1):.2f} ms CPU a check")
print(f"connections held on the servers: mean {sumc / max(samples, 1):.1f}, max {maxc:.0f} (sampled each second)")
print(f"control plane resident memory: {rss / 1024:.0f} MiB")
EOF
