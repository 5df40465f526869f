#!/usr/bin/env python3
"""Turns a terminal capture with colours (tmux capture-pane -e) into an SVG picture.

    python3 scripts/ansi2svg.py SCREEN.ans WIDTH HEIGHT > SCREEN.svg

Only the standard library. Understands what tmux emits: SGR reset, bold, dim, italic,
underline, reverse, 16/256-colour and 24-bit foreground and background. Every cell sits
on a fixed grid, so box drawing lines up whatever font the viewer substitutes.
"""

import html
import re
import os
import sys

CELL_W, CELL_H, FONT = 8.4, 17, 14
DEFAULT_FG, DEFAULT_BG = "#d0d4dc", "#14181f"
# A light theme is drawn on a light terminal: ANSI2SVG_BACKGROUND=light picks one.
if os.environ.get("ANSI2SVG_BACKGROUND") == "light":
    DEFAULT_FG, DEFAULT_BG = "#1c1c1c", "#fafafa"
# The 16 ANSI colours (a dark theme close to common terminal defaults).
BASE16 = [
    "#1c2129", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#d0d4dc",
    "#5c6370", "#ff7a85", "#b5e890", "#ffd68a", "#82c4ff", "#e09cf5", "#7fd6e0", "#ffffff",
]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.underline, self.reverse)

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1


SEQ = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\x1b.")


def cells(text, width, height):
    """Yields rows of (char, style-key) cells."""
    style = Style()
    rows = []
    for line in text.split("\n")[:height]:
        row = []
        pos = 0
        for m in SEQ.finditer(line):
            for ch in line[pos:m.start()]:
                row.append((ch, style.key()))
            if m.group(2) == "m":
                style.apply(m.group(1))
            pos = m.end()
        for ch in line[pos:]:
            row.append((ch, style.key()))
        row = row[:width]
        row += [(" ", style.key())] * (width - len(row))
        rows.append(row)
    while len(rows) < height:
        rows.append([(" ", Style().key())] * width)
    return rows


def svg(text, width, height):
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'
        % (width * CELL_W + 16, height * CELL_H + 16, width * CELL_W + 16, height * CELL_H + 16),
        '<rect width="100%%" height="100%%" rx="6" fill="%s"/>' % DEFAULT_BG,
        '<g transform="translate(8 8)" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
        'font-size="%d" xml:space="preserve">' % FONT,
    ]
    for y, row in enumerate(cells(text, width, height)):
        x = 0
        while x < width:
            key = row[x][1]
            end = x
            while end < width and row[end][1] == key:
                end += 1
            fg, bg, bold, dim, italic, underline, reverse = key
            fg, bg = fg or DEFAULT_FG, bg
            if reverse:
                fg, bg = (bg or DEFAULT_BG), fg
            if bg:
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                           % (x * CELL_W, y * CELL_H, (end - x) * CELL_W, CELL_H, bg))
            # One text element per cell run, each glyph pinned to its column.
            chars = "".join(ch for ch, _ in row[x:end])
            if chars.strip():
                xs = " ".join("%.1f" % ((x + i) * CELL_W) for i in range(end - x))
                attrs = ' fill="%s"' % fg
                if bold:
                    attrs += ' font-weight="bold"'
                if dim:
                    attrs += ' opacity="0.6"'
                if italic:
                    attrs += ' font-style="italic"'
                if underline:
                    attrs += ' text-decoration="underline"'
                out.append('<text x="%s" y="%.1f"%s>%s</text>'
                           % (xs, y * CELL_H + CELL_H * 0.78, attrs, html.escape(chars)))
            x = end
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: ansi2svg.py SCREEN.ans WIDTH HEIGHT > SCREEN.svg")
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        text = f.read()
    sys.stdout.write(svg(text, int(sys.argv[2]), int(sys.argv[3])))


if __name__ == "__main__":
    main()
