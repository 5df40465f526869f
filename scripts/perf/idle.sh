#!/usr/bin/env bash
# Benchmark 5 (docs/performance.md): idle cost in a real terminal.
#
#   scripts/perf/idle.sh            # PERF_SECONDS=60 by default
#
# Runs, side by side in one private tmux server (each pane 200x60, output piped to a
# file): the console connected to a quiet control plane, the console on the running
# embedded demo (240 databases; its control plane and simulated fleet run in the same
# process), htop, and btop. After a 5 s warm-up it counts, over PERF_SECONDS, each
# process's CPU seconds (user+system, /proc/PID/stat) and the bytes it wrote to its
# terminal. The quiet control plane itself is a separate process and is not counted.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SECS="${PERF_SECONDS:-60}"
WARM=5

if ! command -v htop >/dev/null || ! command -v btop >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq htop btop >/dev/null
fi

machine
start_server
run_in_pane quiet "$FLEETDECK_BIN" --server "$SERVER_URL" --token-file "$TOKEN_FILE"
run_in_pane demo "$FLEETDECK_BIN" --demo-reset
run_in_pane htop htop
run_in_pane btop btop
sleep "$WARM"

declare -A CPU0 BYTES0 PID
for name in quiet demo htop btop; do
    PID[$name]="$(pane_pid "$name")"
    CPU0[$name]="$(cpu_seconds "${PID[$name]}")"
    BYTES0[$name]="$(stat -c %s "$PERF_TMP/$name.out")"
done
sleep "$SECS"
printf '%-44s %14s %12s\n' "over $SECS s after ${WARM} s warm-up" "CPU % of core" "bytes/s"
for name in quiet demo htop btop; do
    cpu1="$(cpu_seconds "${PID[$name]}")"
    bytes1="$(stat -c %s "$PERF_TMP/$name.out")"
    case "$name" in
        quiet) label="fleetdeck console, quiet control plane" ;;
        demo) label="fleetdeck, embedded demo (console + server)" ;;
        *) label="$name (reference)" ;;
    esac
    python3 -c "import sys; c0,c1,b0,b1,s=map(float,sys.argv[1:]); print(f'%-44s %13.2f%% %12.0f' % ('$label', 100*(c1-c0)/s, (b1-b0)/s))" \
        "${CPU0[$name]}" "$cpu1" "${BYTES0[$name]}" "$bytes1" "$SECS"
done
echo "targets: idle CPU < 0.3 % of a core; steady-state bytes/s below both htop and btop"
