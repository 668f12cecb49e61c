"""Dates as the office reads them: Vietnam's time zone, ISO weeks, and dd/mm/yyyy display."""

from __future__ import annotations

import datetime as dt

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam: UTC+7 all year, no daylight saving time


def today_vn() -> dt.date:
    """Today's date in Vietnam."""
    return dt.datetime.now(VN_TZ).date()


def iso_week(day: dt.date) -> str:
    """'2025-W03' for any day of that ISO week."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_week(day: dt.date) -> str:
    return iso_week(day - dt.timedelta(days=7))


def vn_date(value: str | dt.date | None, empty: str = "") -> str:
    """'2025-06-19' (or a longer ISO stamp) -> '19/06/2025'; unreadable values are returned as written."""
    if not value:
        return empty
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    try:
        return dt.date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def local_time(moment: dt.datetime) -> dt.datetime:
    """A UTC (or naive UTC) moment in Vietnam's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN_TZ)
