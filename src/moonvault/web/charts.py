"""Figures drawn on the server as inline SVG: charts (matplotlib), the genealogy tree, QR labels.

Pages carry their figures inline, so they need no script and no second request, and every figure
is also given as a table beside it. Text stays text in the SVG (`svg.fonttype: none`): the
browser renders it with the page's fonts (Chinese included), screen readers and tests can read
it, and no font is embedded or fetched.
"""

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import matplotlib
import segno
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from matplotlib.figure import Figure

from moonvault.core.units import MICROGRAMS_PER, readable_unit

matplotlib.use("Agg")
matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        # Fixed element ids, so that the same data always gives the same bytes.
        "svg.hashsalt": "moonvault",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
INK, ACCENT, MUTED, FAR_SIDE = "#1b1f24", "#0b4f8a", "#4a5561", "#e4e7eb"
GRAM = 1_000_000


def _svg(figure: Figure, label: str) -> SafeString:
    out = io.StringIO()
    with warnings.catch_warnings():
        # Layout measures text with the bundled Latin font; the browser draws CJK glyphs itself.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = out.getvalue()
    svg = text[text.index("<svg") :]
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return mark_safe(re.sub(r'(width|height)="[\d.]+pt"', "", svg, count=2))


def mass_history_chart(
    points: Sequence[tuple[datetime, int]], *, title: str, axis: str
) -> SafeString:
    """Mass after each custody event, as steps over time, in the unit that reads best for the
    heaviest point; `axis` holds a %(unit)s placeholder."""
    return _mass_history_chart(tuple(points), title, axis)


# Drawing the chart takes some 50 ms, most of a sample page's time. The same points, title and
# axis always give the same bytes (svg.hashsalt), and a sample's history changes only by new
# events, which change the points: a page shown again reuses its chart.
@lru_cache(maxsize=128)
def _mass_history_chart(points: tuple, title: str, axis: str) -> SafeString:
    figure = Figure(figsize=(7, 2.6))
    ax = figure.add_subplot()
    _, unit = readable_unit(max((m for _, m in points), default=0) or 1)
    times = [t for t, _ in points]
    values = [m / MICROGRAMS_PER[unit] for _, m in points]
    ax.step(times, values, where="post", color=ACCENT, linewidth=2)
    ax.plot(times, values, "o", color=ACCENT, markersize=4)
    ax.set_ylabel(axis % {"unit": unit})
    ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left", color=INK)
    figure.autofmt_xdate()
    return _svg(figure, title)


@dataclass(frozen=True)
class Site:
    code: str
    latitude: float
    longitude: float
    current: bool = False


def moon_map(
    sites: Sequence[Site], *, title: str, near_side: str, far_side: str, axes: tuple[str, str]
) -> SafeString:
    """Selenographic longitude and latitude; the near side faces Earth (|longitude| ≤ 90°)."""
    figure = Figure(figsize=(8, 4.2))
    ax = figure.add_subplot()
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.axvspan(-180, -90, color=FAR_SIDE, zorder=0)
    ax.axvspan(90, 180, color=FAR_SIDE, zorder=0)
    for x in (-90, 90):
        ax.axvline(x, color=MUTED, linewidth=0.8, linestyle="--")
    ax.text(0, 82, near_side, ha="center", color=MUTED)
    for x in (-135, 135):
        ax.text(x, 82, far_side, ha="center", color=MUTED)
    ax.set_xticks(range(-180, 181, 45))
    ax.set_yticks(range(-90, 91, 30))
    ax.grid(color="#c9ced4", linewidth=0.5)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    for site in sites:
        ax.plot(
            site.longitude,
            site.latitude,
            marker="*" if site.current else "o",
            markersize=14 if site.current else 7,
            color="#a4161a" if site.current else ACCENT,
            markeredgecolor=INK,
            linestyle="none",
        )
        ax.annotate(
            site.code,
            (site.longitude, site.latitude),
            xytext=(6, 6),
            textcoords="offset points",
            fontweight="bold" if site.current else "normal",
            color=INK,
        )
    ax.set_title(title, loc="left", color=INK)
    return _svg(figure, title)


def bar_chart(
    labels: Sequence[str], grams: Sequence[float], *, title: str, axis: str
) -> SafeString:
    """Horizontal bars in the given order, each labelled with its value; the page's heading
    names the chart, so `title` only labels it for screen readers."""
    return _bar_chart(tuple(labels), tuple(grams), str(title), str(axis))


# The transparency page draws six of these, some 100 ms each; as for the mass history, the same
# bars give the same bytes, and new figures change the bars.
@lru_cache(maxsize=128)
def _bar_chart(labels: tuple, grams: tuple, title: str, axis: str) -> SafeString:
    figure = Figure(figsize=(7, 0.45 * max(len(labels), 2) + 1.0))
    ax = figure.add_subplot()
    positions = range(len(labels))
    ax.barh(positions, grams, color=ACCENT)
    ax.set_yticks(positions, labels=labels)
    ax.invert_yaxis()
    for y, value in zip(positions, grams, strict=True):
        ax.annotate(
            _number(value), (value, y), xytext=(4, 0), textcoords="offset points", va="center"
        )
    ax.set_xlabel(axis)
    ax.margins(x=0.15)
    return _svg(figure, title)


def _number(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".") if value else "0"


@dataclass(frozen=True)
class TreeNode:
    label: str
    detail: str
    href: str = ""
    current: bool = False


NODE_W, NODE_H, GAP_X, GAP_Y = 200, 40, 16, 26


def genealogy_tree(
    *, ancestors: Sequence[TreeNode], sample: TreeNode, children: Sequence[TreeNode], title: str
) -> SafeString:
    """The chain of ancestors down to the sample, then its children side by side.

    The caller caps the children and passes a last node without a link for the rest.
    """
    columns = max(len(children), 1)
    width = columns * NODE_W + (columns - 1) * GAP_X
    centre = (width - NODE_W) / 2
    parts, y = [], 0
    chain = [*ancestors, sample]
    for i, node in enumerate(chain):
        if i:
            parts.append(_edge(centre + NODE_W / 2, y - GAP_Y, centre + NODE_W / 2, y))
        parts.append(_node(node, centre, y))
        y += NODE_H + GAP_Y
    for i, node in enumerate(children):
        x = i * (NODE_W + GAP_X)
        parts.append(_edge(centre + NODE_W / 2, y - GAP_Y, x + NODE_W / 2, y))
        parts.append(_node(node, x, y))
    height = y + (NODE_H if children else -GAP_Y)
    return format_html(
        # A group, not an image: an image's content is hidden from assistive technology, and
        # the tree's nodes are links a keyboard and a screen reader must reach.
        '<svg xmlns="http://www.w3.org/2000/svg" class="tree" role="group" aria-label="{}" '
        'viewBox="-2 -2 {} {}" width="{}" font-size="12">{}</svg>',
        title,
        width + 4,
        height + 4,
        width + 4,
        mark_safe("".join(parts)),
    )


def _edge(x1: float, y1: float, x2: float, y2: float) -> str:
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>',
        x1,
        y1,
        x2,
        y2,
        MUTED,
    )


def _node(node: TreeNode, x: float, y: float) -> str:
    box = format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" rx="5" fill="{}" stroke="{}"/>'
        '<text x="{}" y="{}" fill="{}" font-weight="{}">{}</text>'
        '<text x="{}" y="{}" fill="{}">{}</text>',
        x,
        y,
        NODE_W,
        NODE_H,
        "#e3eef8" if node.current else "#ffffff",
        ACCENT if node.href else MUTED,
        x + 8,
        y + 16,
        ACCENT if node.href else INK,
        700 if node.current else 400,
        node.label,
        x + 8,
        y + 32,
        MUTED,
        node.detail,
    )
    if not node.href:
        return box
    return format_html('<a href="{}"><title>{}</title>{}</a>', node.href, node.label, box)


def qr_code(url: str, *, title: str) -> SafeString:
    """A label's QR code: the sample page's absolute address, scannable at print size."""
    return mark_safe(
        segno.make(url, error="m").svg_inline(scale=4, title=title, svgclass="qr", lineclass=None)
    )
