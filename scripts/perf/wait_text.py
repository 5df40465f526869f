#!/usr/bin/env python3
"""Waits until FILE contains TEXT (bytes, anywhere); prints the wall-clock time it was
first seen, in nanoseconds since the epoch, or exits 1 after TIMEOUT seconds.

    wait_text.py FILE TEXT [TIMEOUT] [FROM_BYTE]

Polls every millisecond, reading only what was appended since the last look."""
import sys
import time

path, text = sys.argv[1], sys.argv[2].encode()
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
pos = int(sys.argv[4]) if len(sys.argv) > 4 else 0
deadline = time.time() + timeout
tail = b""
with open(path, "rb") as f:
    f.seek(pos)
    while time.time() < deadline:
        chunk = f.read()
        if chunk:
            tail += chunk
            if text in tail:
                print(time.time_ns())
                sys.exit(0)
            tail = tail[-len(text) :]
        else:
            time.sleep(0.001)
sys.exit(1)
