"""The arms of the pricing bandit: multipliers of an event's base price, inside the price guards."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


class InvalidGuards(ValueError):
    """The price guards or the multipliers leave nothing that can be offered."""


class UnknownArm(ValueError):
    """A multiplier that is not one of the policy's arms (e.g. feedback for a price never offered)."""

    def __init__(self, multiplier: float, arms: tuple[float, ...]) -> None:
        self.multiplier = multiplier
        self.arms = arms
        offered = ", ".join(arm_label(a) for a in arms)
        super().__init__(f"multiplier {multiplier!r} is not an offered arm; expected one of {offered}")


def arm_label(multiplier: float) -> str:
    """The one spelling of an arm, used in Redis fields and metric labels: `1.25`, `1`, `0.8`."""
    return f"{multiplier:g}"


@dataclass(frozen=True)
class PriceGuards:
    """The band every offered price stays in, as multipliers of the base price."""

    min_multiplier: float
    max_multiplier: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_multiplier) and math.isfinite(self.max_multiplier)):
            raise InvalidGuards("price guards must be finite numbers")
        if not 0 < self.min_multiplier <= self.max_multiplier:
            raise InvalidGuards(
                f"price guards need 0 < min <= max, got min={self.min_multiplier} max={self.max_multiplier}"
            )

    def clip(self, multiplier: float) -> float:
        return min(max(multiplier, self.min_multiplier), self.max_multiplier)


@dataclass(frozen=True)
class PriceArms:
    """The sorted, distinct multipliers the policy chooses among, each inside the guards."""

    multipliers: tuple[float, ...]
    guards: PriceGuards

    @classmethod
    def build(cls, multipliers: Iterable[float], guards: PriceGuards) -> PriceArms:
        """Clip each multiplier to the guards and drop duplicates the clipping makes."""
        clipped = sorted({guards.clip(float(m)) for m in multipliers if math.isfinite(m) and m > 0})
        if not clipped:
            raise InvalidGuards("no positive, finite price multiplier to offer")
        return cls(tuple(clipped), guards)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(arm_label(m) for m in self.multipliers)

    def find(self, multiplier: float) -> float:
        """The arm equal to `multiplier` (to float noise, since it comes back through JSON)."""
        for arm in self.multipliers:
            if math.isclose(arm, multiplier, rel_tol=1e-9, abs_tol=1e-9):
                return arm
        raise UnknownArm(multiplier, self.multipliers)
