"""One simulated UTC day: the slice of the world every generator of that day's orders works on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskloop_simulation.catalog import DAY_US, HOUR_US, Catalog
from riskloop_simulation.config import WorldConfig
from riskloop_simulation.personas import Population

# Relative order volume per UTC hour: quiet nights, a lunch bump, the evening peak.
HOURLY_PROFILE = np.array(
    [0.8, 0.5, 0.35, 0.3, 0.3, 0.4, 0.7, 1.2, 1.8, 2.2, 2.4, 2.5]
    + [2.7, 2.6, 2.5, 2.5, 2.7, 3.0, 3.3, 3.4, 3.2, 2.6, 1.9, 1.2]
)
# Monday .. Sunday: weekends sell more.
WEEKDAY_FACTOR = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.25, 1.2])


@dataclass(frozen=True)
class Day:
    index: int
    start_us: int
    config: WorldConfig
    catalog: Catalog
    population: Population
    salt: int  # seeds the hashes turning numbers into fingerprints and addresses, the same all world long
    active: np.ndarray  # indices of events on sale at some point of the day
    opening: np.ndarray  # indices of events whose sales open during the day
    steady: np.ndarray  # indices of events on sale all day long (else `active`): bursts there need no clamping

    @property
    def end_us(self) -> int:
        return self.start_us + DAY_US

    @property
    def weekday_factor(self) -> float:
        weekday = (self.config.start.weekday() + self.index) % 7
        return float(WEEKDAY_FACTOR[weekday])

    def fit_window(self, ts: np.ndarray, event: np.ndarray) -> np.ndarray:
        """Clamp times into the part of the day the event is on sale."""
        low = np.maximum(self.start_us, self.catalog.on_sale_us[event])
        high = np.minimum(self.end_us, self.catalog.start_us[event]) - 1
        return np.clip(ts, low, high)

    def times_of_day(self, rng: np.random.Generator, n: int, hourly: np.ndarray = HOURLY_PROFILE) -> np.ndarray:
        """`n` instants of the day following an hourly volume profile."""
        cumulative = np.cumsum(hourly)
        hour = np.minimum(np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right"), 23)
        return self.start_us + hour * HOUR_US + rng.integers(0, HOUR_US, n)


def make_day(index: int, config: WorldConfig, catalog: Catalog, population: Population) -> Day:
    start_us = config.start_us + index * DAY_US
    end_us = start_us + DAY_US
    active = np.flatnonzero(catalog.active(start_us, end_us))
    opening = np.flatnonzero((catalog.on_sale_us >= start_us) & (catalog.on_sale_us < end_us))
    steady = np.flatnonzero((catalog.on_sale_us <= start_us) & (catalog.start_us >= end_us))
    return Day(
        index=index,
        start_us=start_us,
        config=config,
        catalog=catalog,
        population=population,
        salt=world_salt(config),
        active=active,
        opening=opening,
        steady=steady if len(steady) else active,
    )


def world_salt(config: WorldConfig) -> int:
    """Salts the hashes turning numbers into fingerprints and addresses: per world, not per day."""
    return config.seed * 1_000_003 + 17
