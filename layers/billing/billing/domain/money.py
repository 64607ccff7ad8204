"""Money in integer minor units of an ISO 4217 currency; the one rounding rule lives here."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor-unit exponents of the currencies we bill in.
MINOR_UNITS: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def round_half_up(value: Decimal) -> int:
    """Round an amount already expressed in minor units to a whole minor unit, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)  # no ordering: 1 USD < 2 EUR means nothing
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")
        minor_units(self.currency)

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def as_decimal(self) -> Decimal:
        """The amount in major units (19.80 for 1980 EUR cents), for display only."""
        return Decimal(self.minor).scaleb(-minor_units(self.currency))
