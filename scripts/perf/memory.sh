#!/usr/bin/env bash
# Benchmark 9 (docs/performance.md): resident memory at fleet scale.
#
#   scripts/perf/memory.sh          # PERF_DATABASES=100000 PERF_EVENTS=1000000
#
# 1. `cargo bench --bench footprint` builds a state file with PERF_DATABASES databases
#    and PERF_EVENTS events and reports the control plane's own RSS on it.
# 2. A bare `fleetdeck serve` runs on that state; the console connects to it in a 200x60
#    tmux pane; once the Fleet pane shows every database, and again after 10 s, the
#    console's VmRSS and VmHWM are read from /proc.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DBS="${PERF_DATABASES:-100000}"
EVENTS="${PERF_EVENTS:-1000000}"
HERE="$(dirname "${BASH_SOURCE[0]}")"

machine
(cd "$ROOT" && PERF_STATE="$PERF_TMP/server.sqlite" PERF_DATABASES="$DBS" PERF_EVENTS="$EVENTS" \
    cargo bench --quiet -p fleetdeck-control-plane --bench footprint)
start_server
run_in_pane console "$FLEETDECK_BIN" --server "$SERVER_URL" --token-file "$TOKEN_FILE"
python3 "$HERE/wait_screen.py" "$SOCKET" console "$DBS databases" 300 >/dev/null || {
    echo "the console did not show $DBS databases within 300 s" >&2
    tm capture-pane -p -t console >&2
    exit 1
}
pid="$(pane_pid console)"
echo "console with $DBS databases, loaded: VmRSS $(( $(rss_kib "$pid" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$pid" VmHWM) / 1024 )) MiB"
sleep 10
echo "console after 10 s: VmRSS $(( $(rss_kib "$pid" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$pid" VmHWM) / 1024 )) MiB (log cap 10000 lines)"
echo "control plane serving it: VmRSS $(( $(rss_kib "$SERVER_PID" VmRSS) / 1024 )) MiB, VmHWM $(( $(rss_kib "$SERVER_PID" VmHWM) / 1024 )) MiB"
