"""Crontab times (minute hour day-of-month month day-of-week) for incidentbot.yml's
`schedule:` (pure): parse, and whether a minute matches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 6))

Cron = tuple[frozenset[int], ...]


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                a, b = body.split("-", 1)
                start, end = int(a), int(b)
            else:
                start = end = int(body)
        except ValueError:
            raise ValueError(f"{name}: expected numbers, *, a-b or */n, got {part!r}") from None
        if name == "day of week" and end == 7:  # crontab allows 7 for Sunday
            values.add(0)
            end = 6 if start <= 6 else end
        if step < 1 or not low <= start <= end <= high:
            raise ValueError(f"{name}: expected {low}-{high}, got {part!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse(expression: str) -> Cron:
    """The five fields as sets; ValueError saying which field is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"expected five cron fields (minute hour day month weekday), got "
                         f"{expression!r}")
    return tuple(_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True))


def matches(cron: Cron, when: datetime) -> bool:
    """True when `when` (a local time) is one of the cron's minutes. As in crontab, when both
    day fields are restricted, either may match."""
    minute, hour, dom, month, dow = cron
    weekday = (when.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
    day_ok = (when.day in dom or weekday in dow) if len(dom) < 31 and len(dow) < 7 \
        else (when.day in dom and weekday in dow)
    return when.minute in minute and when.hour in hour and when.month in month and day_ok


def minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    """Each whole minute in (start, end], newest last (bounded: at most a week of them)."""
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    count = min(int((end - first).total_seconds() // 60) + 1, 7 * 24 * 60)
    for i in range(max(0, count)):
        yield first + timedelta(minutes=i)
