"""Calendar months in UTC: what billing periods, spend pages and partitions are made of."""

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime | date) -> "Month":
        return cls(moment.year, moment.month)

    def shifted(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The next month's start: ranges are start-inclusive, end-exclusive."""
        return self.shifted(1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
