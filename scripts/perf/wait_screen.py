#!/usr/bin/env python3
"""Waits until a tmux pane shows TEXT on screen; prints the wall-clock time it was first
seen, in nanoseconds since the epoch, or exits 1 after TIMEOUT seconds.

    wait_screen.py SOCKET TARGET TEXT [TIMEOUT]

Reads the pane as drawn (`tmux capture-pane`), not the bytes sent to it: a console
that redraws only the cells that changed may never send TEXT in one piece (a title
going from "0 databases" to "10000 databases" is sent as the cells that differ).
Polls every 2 ms; one capture takes about as long, so the time is late by at most
a few milliseconds."""
import subprocess
import sys
import time

socket, target, text = sys.argv[1], sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
deadline = time.time() + timeout
while time.time() < deadline:
    screen = subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", "capture-pane", "-p", "-t", target],
        capture_output=True,
        text=True,
    ).stdout
    if text in screen:
        print(time.time_ns())
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
