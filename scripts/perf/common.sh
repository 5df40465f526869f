# Shared by the whole-process benchmarks in scripts/perf/ (sourced, not run).
# Builds fleetdeck --release once (or uses FLEETDECK_BIN), prints the machine, and runs
# programs in a private tmux server whose panes are 200x60 with their output piped to
# files, so what each program writes to its terminal can be counted.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PERF_TMP="$(mktemp -d "${TMPDIR:-/tmp}/fleetdeck-perf.XXXXXX")"
SOCKET="fleetdeck-perf-$$"
STARTED_PIDS=()

cleanup() {
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$PERF_TMP"
}
trap cleanup EXIT

command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 1; }
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 1; }

if [[ -z "${FLEETDECK_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin fleetdeck)
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    FLEETDECK_BIN="$TARGET_DIR/release/fleetdeck"
fi
[[ -x "$FLEETDECK_BIN" ]] || { echo "no binary at $FLEETDECK_BIN" >&2; exit 1; }

# The demo's files and any config live in the temp dir, never in the user's home
# (cargo and rustup keep finding theirs).
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="$PERF_TMP/home" XDG_DATA_HOME="$PERF_TMP/home/data" \
    XDG_CONFIG_HOME="$PERF_TMP/home/config" XDG_STATE_HOME="$PERF_TMP/home/state"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
export TERM=xterm-256color

machine() {
    echo "machine: $(nproc) cores; $(free -h | awk '/^Mem:/ {print $2 " memory"}'); $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "binary: $FLEETDECK_BIN"
}

tm() { tmux -L "$SOCKET" -f /dev/null "$@"; }

# run_in_pane NAME COMMAND...: a 200x60 session running COMMAND, its output piped to
# $PERF_TMP/NAME.out from the first byte (the pane starts a shell that waits for the pipe).
run_in_pane() {
    local name="$1"; shift
    local ready="$PERF_TMP/$name.ready"
    : > "$PERF_TMP/$name.out"
    tm new-session -d -s "$name" -x 200 -y 60 \
        "while [ ! -e '$ready' ]; do sleep 0.01; done; exec $*"
    tm pipe-pane -o -t "$name" "cat >> '$PERF_TMP/$name.out'"
    touch "$ready"
}

pane_pid() { tm display-message -p -t "$1" '#{pane_pid}'; }

# A fresh quiet control plane on a free loopback port with a viewer+operator+approver
# token; sets SERVER_URL and TOKEN_FILE. Extra arguments go to `fleetdeck serve`.
start_server() {
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    local tokens="$PERF_TMP/tokens"
    TOKEN_FILE="$PERF_TMP/token"
    "$FLEETDECK_BIN" token new --user perf --role operator,approver --tokens "$tokens" \
        > "$TOKEN_FILE" 2>/dev/null
    "$FLEETDECK_BIN" serve --listen "127.0.0.1:$port" --state "$PERF_TMP/server.sqlite" \
        --tokens "$tokens" "$@" > "$PERF_TMP/server.log" 2>&1 &
    STARTED_PIDS+=("$!")
    SERVER_PID="$!"
    SERVER_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 600); do
        curl -fs "$SERVER_URL/readyz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "the control plane did not become ready:" >&2
    cat "$PERF_TMP/server.log" >&2
    exit 1
}

# CPU seconds (user+system) a process has used.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

rss_kib() { awk "/^$2:/ { print \$2 }" "/proc/$1/status"; }
