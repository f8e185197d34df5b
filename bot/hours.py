"""Opening hours: whether counsellors are on now, and when they are next."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

Hours = tuple[tuple[int, int, int], ...]  # (weekday 0=Monday, start minute, end minute)


def is_open(now: datetime, hours: Hours, tz: str) -> bool:
    local = now.astimezone(ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    return any(day == local.weekday() and start <= minute < end for day, start, end in hours)


def next_opening(now: datetime, hours: Hours, tz: str) -> datetime | None:
    """The next time counsellors come on, in the local zone; None when there are no hours at all."""
    if not hours:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(0, 8):
        day = midnight + timedelta(days=offset)
        starts = sorted(start for d, start, _ in hours if d == day.weekday())
        for start in starts:
            candidate = (day + timedelta(minutes=start)).replace(tzinfo=zone)
            if candidate > local:
                return candidate
    return None


def describe_opening(when: datetime, now: datetime, tz: str) -> str:
    """'today at 9am', 'tomorrow at 9am' or 'on Saturday at 12pm' in plain words."""
    zone = ZoneInfo(tz)
    local_when = when.astimezone(zone)
    local_now = now.astimezone(zone)
    hour = local_when.strftime("%I").lstrip("0") or "12"
    minute = local_when.strftime("%M")
    clock = f"{hour}{'' if minute == '00' else ':' + minute}{local_when.strftime('%p').lower()}"
    days = (local_when.date() - local_now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {local_when.strftime('%A')} at {clock}"
