#!/usr/bin/env bash
# Benchmark 7 (docs/performance.md): process start to the first frame with data.
#
#   scripts/perf/startup.sh         # PERF_FLEET=10000, 5 runs each
#
# Each run starts `fleetdeck` in a fresh 200x60 tmux pane and stops the clock when the
# pane shows "N databases" (the Fleet pane's title once the snapshot is drawn; read from
# the screen, since a redraw sends only the cells that changed). "cold" runs use --demo-reset (the demo fleet is generated
# and written to a new state file first); "warm" runs open the existing state, as a
# second start of the day does. Times are from just before exec to the byte arriving.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FLEET="${PERF_FLEET:-10000}"
RUNS="${PERF_RUNS:-5}"
HERE="$(dirname "${BASH_SOURCE[0]}")"

machine
one_run() {
    local name="$1"; shift
    tm new-session -d -s "$name" -x 200 -y 60 \
        "while [ ! -e '$PERF_TMP/$name.ready' ]; do sleep 0.01; done; date +%s%N > '$PERF_TMP/$name.start'; exec $*"
    touch "$PERF_TMP/$name.ready"
    local seen
    if ! seen="$(python3 "$HERE/wait_screen.py" "$SOCKET" "$name" "$FLEET databases" 60)"; then
        echo "run $name: no frame with data within 60 s" >&2
        tm capture-pane -p -t "$name" >&2
        exit 1
    fi
    local start
    start="$(cat "$PERF_TMP/$name.start")"
    tm kill-session -t "$name"
    echo $(( (seen - start) / 1000000 ))
}

for kind in cold warm; do
    times=()
    for i in $(seq 1 "$RUNS"); do
        if [[ "$kind" == cold ]]; then
            times+=("$(one_run "cold$i" "$FLEETDECK_BIN" --demo-reset --demo-fleet "$FLEET")")
        else
            times+=("$(one_run "warm$i" "$FLEETDECK_BIN" --demo-fleet "$FLEET")")
        fi
        sleep 0.5
    done
    sorted="$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')"
    median="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
    echo "start-up to first frame with data, $kind, $FLEET databases: median ${median} ms (runs: ${sorted% }ms)   target < 300 ms at 10k"
done
