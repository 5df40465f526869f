#!/usr/bin/env bash
# Benchmark 9 (docs/performance.md): resident memory at fleet scale.
#
#   scripts/perf/memory.sh          # PERF_DATABASES=100000 PERF_EVENTS=1000000
#
# 1. `cargo bench --bench footprint` builds a state file with PERF_DATABASES databases
#    and PERF_EVENTS events and reports the control plane's own RSS on it.
# 2. A bare `fleetdeck serve` runs on that state; the console connects to it in a 200x60
#    tmux pane; once the Fleet pane shows every database the console's VmRSS and VmHWM
#    are read from /proc. Then its log is filled past its cap (10,000 lines): 12,000
#    events are written into the store behind the server's back and one real action
#    (a drill) commits, which wakes the feed, which streams them all; once the last one
#    is on screen, and 10 s later, the console is read again.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DBS="${PERF_DATABASES:-100000}"
EVENTS="${PERF_EVENTS:-1000000}"
HERE="$(dirname "${BASH_SOURCE[0]}")"

machine
(cd "$ROOT" && PERF_STATE="$PERF_TMP/server.sqlite" PERF_DATABASES="$DBS" PERF_EVENTS="$EVENTS" \
    cargo bench --quiet -p fleetdeck-control-plane --bench footprint)
start_server
curl -s -o /dev/null -w 'one /v1/snapshot by curl: %{time_total} s, %{size_download} bytes\n' \
    -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$SERVER_URL/v1/snapshot"
run_in_pane console "$FLEETDECK_BIN" --server "$SERVER_URL" --token-file "$TOKEN_FILE"
python3 "$HERE/wait_screen.py" "$SOCKET" console "$DBS databases" 300 >/dev/null || {
    echo "the console did not show $DBS databases within 300 s" >&2
    tm capture-pane -p -t console >&2
    exit 1
}
pid="$(pane_pid console)"
echo "console with $DBS databases, loaded: VmRSS $(( $(rss_kib "$pid" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$pid" VmHWM) / 1024 )) MiB"
python3 - "$PERF_TMP/server.sqlite" <<'PY'
import datetime, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
db = c.execute("SELECT id FROM databases ORDER BY ring, id LIMIT 1").fetchone()[0]
last = c.execute("SELECT MAX(seq) FROM events").fetchone()[0]
at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
c.executemany(
    "INSERT INTO events (seq, at, actor, kind, level, database_id, message) "
    "VALUES (?, ?, 'executor', 'executor.output', 'info', ?, ?)",
    [(last + i, at, db, f"{db}: pg_upgrade copying relation files ({i} of 12000)")
     for i in range(1, 12001)],
)
c.commit()
PY
db="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM databases ORDER BY ring DESC, id LIMIT 1").fetchone()[0])' "$PERF_TMP/server.sqlite")"
curl -fs -o /dev/null -X POST -H "Authorization: Bearer $(cat "$TOKEN_FILE")" \
    -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -H 'Content-Type: application/json' -d '{}' "$SERVER_URL/v1/databases/$db/drills"
python3 "$HERE/wait_screen.py" "$SOCKET" console "12000 of 12000" 120 >/dev/null || {
    echo "the console did not show the last of 12000 streamed lines within 120 s" >&2
    exit 1
}
echo "console with its log full: VmRSS $(( $(rss_kib "$pid" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$pid" VmHWM) / 1024 )) MiB"
sleep 10
echo "console after 10 s: VmRSS $(( $(rss_kib "$pid" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$pid" VmHWM) / 1024 )) MiB (log cap 10000 lines, full)"
echo "control plane serving it: VmRSS $(( $(rss_kib "$SERVER_PID" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$SERVER_PID" VmHWM) / 1024 )) MiB"
