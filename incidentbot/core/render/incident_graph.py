"""The postmortem's supporting graph: each affected service's health checks around the
incident, as a small hand-written SVG (pure; byte-stable, so re-renders diff cleanly).

One band per service: response time as a line (its peak labelled), failed checks as red
bars, and the incident's start, opening and mitigation as vertical marks. Committed beside
the postmortem and linked from it: GitHub strips `<svg>` written inline in Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from incidentbot.core.facts import Outage
from incidentbot.core.health import DEGRADED, DOWN
from incidentbot.core.text import html_text

W, BAND, TOP, LEFT, RIGHT = 640, 90, 34, 48, 16


def svg(outages: Sequence[Outage], *, start: datetime, opened: datetime,
        mitigated: datetime | None, low: datetime, high: datetime) -> str:
    """The graph from `low` to `high` (UTC)."""
    height = TOP + BAND * len(outages) + 30
    span = max((high - low).total_seconds(), 1.0)
    plot = W - LEFT - RIGHT

    def x(t: datetime) -> float:
        return LEFT + plot * min(max((t - low).total_seconds() / span, 0.0), 1.0)

    title = "Health checks of the affected services around the incident"
    body = [f'<text x="{LEFT}" y="16" font-weight="600">{html_text(title)}</text>',
            f'<text x="{W - RIGHT}" y="16" text-anchor="end" fill="#555">'
            f'{low:%H:%M}–{high:%H:%M} UTC</text>']
    for i, o in enumerate(outages):
        y0 = TOP + i * BAND
        base = y0 + BAND - 20
        peak = max([s.ms or 0 for s in o.samples] or [1]) or 1
        body.append(f'<text x="{LEFT}" y="{y0 + 10}" font-weight="600">'
                    f'{html_text(o.name)}</text>')
        body.append(f'<line x1="{LEFT}" y1="{base}" x2="{W - RIGHT}" y2="{base}" '
                    'stroke="#bbb"/>')
        body.append(f'<text x="{LEFT - 4}" y="{y0 + 22}" text-anchor="end" fill="#555">'
                    f'{peak} ms</text>')
        ordered = sorted(o.samples, key=lambda s: s.t)
        for a, b in zip(ordered, [*ordered[1:], None], strict=True):
            if a.state in {DOWN, DEGRADED}:
                right = x(b.t) if b is not None else x(a.t) + 2
                colour = "#d73a49" if a.state == DOWN else "#fbca04"
                body.append(f'<rect x="{x(a.t):.1f}" y="{y0 + 16}" '
                            f'width="{max(right - x(a.t), 1):.1f}" height="{base - y0 - 16}" '
                            f'fill="{colour}" fill-opacity="0.25"><title>{a.t:%H:%M} '
                            f'{a.state}</title></rect>')
        points = " ".join(f"{x(s.t):.1f},{base - (base - y0 - 20) * (s.ms or 0) / peak:.1f}"
                          for s in ordered if s.ms is not None)
        if points:
            body.append(f'<polyline points="{points}" fill="none" stroke="#1d76db" '
                        'stroke-width="1.5"/>')
    bottom = TOP + BAND * len(outages)
    marks = [(start, "start", "#d73a49"), (opened, "opened", "#555")]
    if mitigated is not None:
        marks.append((mitigated, "mitigated", "#0e8a16"))
    for k, (when, label, colour) in enumerate(marks):
        at = round(x(when), 1)
        body.append(f'<line x1="{at}" y1="{TOP}" x2="{at}" y2="{bottom - 20 + 12 * (k % 2)}" '
                    f'stroke="{colour}" stroke-dasharray="3,3"/>')
        body.append(f'<text x="{at}" y="{bottom - 6 + 12 * (k % 2)}" text-anchor="middle" '
                    f'fill="{colour}">{label} {when:%H:%M}</text>')
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{html_text(title)}" '
        'font-family="-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="11">',
        f"<title>{html_text(title)}</title>",
        f'<rect width="{W}" height="{height}" fill="#ffffff"/>', *body, "</svg>", ""])
