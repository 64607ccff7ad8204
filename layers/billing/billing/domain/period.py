"""Billing periods: an inclusive date range with a type, and the rules that make one valid."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from .errors import InvalidPeriod

MAX_DAYS = 366
PERIOD_TYPES = ("monthly", "custom")


@dataclass(frozen=True)
class Period:
    type: str
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.type not in PERIOD_TYPES:
            raise InvalidPeriod(f"period type must be one of {', '.join(PERIOD_TYPES)}")
        if self.end < self.start:
            raise InvalidPeriod("endDate is before startDate")
        if self.days > MAX_DAYS:
            raise InvalidPeriod(f"a period covers at most {MAX_DAYS} days")
        if self.type == "monthly" and (self.start.day != 1 or self.end != month_end(self.start)):
            raise InvalidPeriod("a monthly period runs from the first to the last day of one month")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        start = date(year, month, 1)
        return cls("monthly", start, month_end(start))

    @classmethod
    def previous_month(cls, today: date) -> "Period":
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return cls.month(year, month)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
