#!/usr/bin/env bash
# Screenshots of the real fleetdeck console, made by running it.
#
#   scripts/screenshots.sh            # builds fleetdeck (debug) and writes docs/screenshots/
#   FLEETDECK_BIN=path/to/fleetdeck scripts/screenshots.sh   # use an existing binary
#
# Needs tmux. For each size (80x24 and 160x48) it starts `fleetdeck` on a fresh embedded
# demo (HOME and XDG directories in a temp dir, so your own demo is untouched), waits for
# live data, and captures the dashboard, the approve dialog, a campaign's detail view,
# command mode, a filter in use, the log filtered, a sorted pane, and the light and high-contrast themes. Each screen is written as
#   NAME-WxH.txt   plain text (always)
#   NAME-WxH.ans   the same with its colours as ANSI escapes (`cat` it in a terminal)
#   NAME-WxH.svg   a picture, if python3 is available (scripts/ansi2svg.py)
#   NAME-WxH.html  if aha or ansi2html is installed
#   NAME-WxH.png   if rsvg-convert (librsvg2-bin) or ImageMagick can render the SVG
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/docs/screenshots"
SOCKET_BASE="fleetdeck-shots-$$"
SOCKET="$SOCKET_BASE"

command -v tmux >/dev/null || { echo "screenshots.sh: tmux is required" >&2; exit 1; }

if [[ -z "${FLEETDECK_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --quiet --bin fleetdeck)
    TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
        || echo "${CARGO_TARGET_DIR:-$ROOT/target}")"
    FLEETDECK_BIN="$TARGET_DIR/debug/fleetdeck"
fi
[[ -x "$FLEETDECK_BIN" ]] || { echo "screenshots.sh: no binary at $FLEETDECK_BIN" >&2; exit 1; }

HOME_DIR="$(mktemp -d)"
cleanup() {
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    rm -rf "$HOME_DIR"
}
trap cleanup EXIT
mkdir -p "$OUT"

tm() { tmux -L "$SOCKET" -f /dev/null "$@"; }

# Waits until the screen contains every given string (or gives up after 30 s).
wait_for() {
    local i screen ok s
    for i in $(seq 1 300); do
        screen="$(tm capture-pane -p -t shots)"
        ok=1
        for s in "$@"; do
            [[ "$screen" == *"$s"* ]] || { ok=0; break; }
        done
        (( ok )) && return 0
        sleep 0.1
    done
    echo "screenshots.sh: timed out waiting for: $*" >&2
    tm capture-pane -p -t shots >&2
    exit 1
}

keys() {
    local k
    for k in "$@"; do
        tm send-keys -t shots "$k"
        sleep 0.15
    done
    sleep 0.4
}

capture() {
    # A fourth argument "light" draws the picture on a light terminal background.
    local name="$1" w="$2" h="$3" background="${4:-dark}" base
    base="$OUT/$name-${w}x${h}"
    tm capture-pane -p -t shots > "$base.txt"
    tm capture-pane -p -e -t shots > "$base.ans"
    if command -v python3 >/dev/null; then
        ANSI2SVG_BACKGROUND="$background" \
            python3 "$ROOT/scripts/ansi2svg.py" "$base.ans" "$w" "$h" > "$base.svg"
    fi
    if command -v aha >/dev/null; then
        aha --black --title "fleetdeck $name ${w}x${h}" < "$base.ans" > "$base.html"
    elif command -v ansi2html >/dev/null; then
        ansi2html < "$base.ans" > "$base.html"
    fi
    if [[ -f "$base.svg" ]]; then
        if command -v rsvg-convert >/dev/null; then
            rsvg-convert "$base.svg" -o "$base.png" || rm -f "$base.png"
        elif command -v magick >/dev/null; then
            magick "$base.svg" "$base.png" 2>/dev/null || rm -f "$base.png"
        elif convert -version 2>/dev/null | grep -q ImageMagick; then
            convert "$base.svg" "$base.png" 2>/dev/null || rm -f "$base.png"
        fi
    fi
    echo "wrote $base.*"
}

shoot() {
    local w="$1" h="$2"
    # A tmux server of its own per size: a fresh one never races the last one's exit.
    SOCKET="$SOCKET_BASE-${w}x${h}"
    rm -rf "${HOME_DIR:?}"/*
    tm new-session -d -s shots -x "$w" -y "$h" \
        "env HOME='$HOME_DIR' XDG_DATA_HOME='$HOME_DIR/data' XDG_STATE_HOME='$HOME_DIR/state' \
         XDG_CACHE_HOME='$HOME_DIR/cache' XDG_CONFIG_HOME='$HOME_DIR/config' USER=oncall \
         TERM=xterm-256color '$FLEETDECK_BIN'; sleep 600"
    wait_for "connected" "embedded demo" "databases"
    # Let the demo run a little: a campaign under way, drills in the log.
    sleep 4
    capture dashboard "$w" "$h"

    keys 4 a
    wait_for "Approve apr-"
    capture dialog "$w" "$h"
    keys Escape

    keys 2 Enter
    wait_for "Campaign cmp-"
    capture detail "$w" "$h"
    keys Escape

    # Command mode, part-typed, with its completion.
    keys 1 : "th"
    wait_for ":th"
    capture command "$w" "$h"
    keys Escape

    # A filter in use on the fleet pane: field terms and an exclusion.
    keys / "env:prod !replica"
    wait_for "env:prod !replica"
    keys Enter
    capture filter "$w" "$h"
    keys Escape

    # The log filtered to drill lines, while it keeps following.
    keys 5 / "kind:drill"
    wait_for "kind:drill"
    keys Enter
    capture log-filter "$w" "$h"
    keys Escape

    # The Evidence pane sorted by restore time, slowest first.
    keys 3 : "sort restore" Enter S
    wait_for "RESTORE▼"
    capture sorted "$w" "$h"
    keys 1

    # The other themes, switched live with :theme.
    keys : "theme light" Enter
    sleep 0.5
    capture theme-light "$w" "$h" light
    keys : "theme high-contrast" Enter
    sleep 0.5
    capture theme-high-contrast "$w" "$h"
    keys q
    tm kill-server 2>/dev/null || true
}

shoot 80 24
shoot 160 48
