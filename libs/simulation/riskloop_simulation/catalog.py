"""The ticketing catalog: promoters, venues and events with Zipf popularity, tiers, prices and sale windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from riskloop_features.transactions import EVENT_CATALOG_SCHEMA
from riskloop_simulation.config import WorldConfig
from riskloop_simulation.identifiers import digits_for, fixed_width_ids

DAY_US = 86_400 * 1_000_000
HOUR_US = 3_600 * 1_000_000

CATEGORIES = ("sports", "concerts", "cultural", "comedy", "family", "festivals")
_CATEGORY_SHARES = np.array([0.30, 0.34, 0.12, 0.10, 0.09, 0.05])
# Median general-admission price per category, in the venue's currency.
_CATEGORY_PRICE = np.array([55.0, 65.0, 40.0, 30.0, 25.0, 120.0])

TIERS = ("general", "premium", "vip")
TIER_PRICE_MULTIPLIER = np.array([1.0, 2.2, 5.0])

# Venue markets: country and the currency tickets there are sold in.
MARKETS = (("US", "USD"), ("GB", "GBP"), ("DE", "EUR"), ("FR", "EUR"), ("ES", "EUR"), ("NL", "EUR"), ("CA", "CAD"))
_MARKET_SHARES = np.array([0.38, 0.17, 0.12, 0.11, 0.09, 0.06, 0.07])

# Zipf exponent of event popularity: a handful of events draw most of the demand.
POPULARITY_EXPONENT = 1.1


@dataclass(frozen=True)
class Catalog:
    """Column arrays over events (index = event number), plus their rendered ids."""

    promoter: np.ndarray  # int64 promoter number per event
    venue: np.ndarray  # int64 venue number per event
    category: np.ndarray  # int8 index into CATEGORIES
    capacity: np.ndarray  # int64 seats (the venue's)
    base_price: np.ndarray  # float64 general-tier price
    currency: np.ndarray  # int8 index into the market currencies
    on_sale_us: np.ndarray  # int64 UTC microseconds
    start_us: np.ndarray  # int64 UTC microseconds
    popularity: np.ndarray  # float64, sums to 1
    event_ids: pa.Array
    promoter_ids: pa.Array
    venue_ids: pa.Array

    @property
    def size(self) -> int:
        return len(self.capacity)

    def active(self, day_start_us: int, day_end_us: int) -> np.ndarray:
        """Whether each event sells at some instant of [day_start, day_end)."""
        return (self.on_sale_us < day_end_us) & (self.start_us > day_start_us)

    def table(self) -> pa.Table:
        return pa.Table.from_arrays(
            [
                self.event_ids,
                self.promoter_ids.take(pa.array(self.promoter)),
                self.venue_ids.take(pa.array(self.venue)),
                pa.array(CATEGORIES).take(pa.array(self.category)),
                pa.array(self.capacity, pa.int64()),
                pa.array(self.base_price, pa.float64()),
                pa.array(self.on_sale_us).cast(EVENT_CATALOG_SCHEMA.field("on_sale_timestamp").type),
                pa.array(self.start_us).cast(EVENT_CATALOG_SCHEMA.field("event_start_timestamp").type),
            ],
            schema=EVENT_CATALOG_SCHEMA,
        )


def build_catalog(config: WorldConfig, rng: np.random.Generator) -> Catalog:
    n_events, n_promoters, n_venues = config.n_events, config.n_promoters, config.n_venues

    # Venues: log-uniform capacity from a club to a stadium, each in one market.
    venue_capacity = np.exp(rng.uniform(np.log(250), np.log(50_000), n_venues)).astype(np.int64)
    venue_market = rng.choice(len(MARKETS), size=n_venues, p=_MARKET_SHARES)

    # Promoters: every promoter runs at least one event; the rest go to promoters by a Pareto weight.
    promoter_weight = rng.pareto(1.5, n_promoters) + 1.0
    extra = rng.choice(n_promoters, size=n_events - n_promoters, p=promoter_weight / promoter_weight.sum())
    promoter = np.concatenate([np.arange(n_promoters), extra])
    rng.shuffle(promoter)

    # Zipf over a random ranking, so popularity is not tied to id order.
    ranks = rng.permutation(n_events) + 1
    popularity = ranks.astype(np.float64) ** -POPULARITY_EXPONENT
    popularity /= popularity.sum()
    # Big draws book big venues (loosely): hot events still sell out, most do not.
    venue_quantile = np.clip((ranks - 0.5) / n_events + rng.normal(0.0, 0.15, n_events), 0.0, 0.999999)
    venue = np.argsort(-venue_capacity, kind="stable")[(venue_quantile * n_venues).astype(np.int64)]
    category = rng.choice(len(CATEGORIES), size=n_events, p=_CATEGORY_SHARES).astype(np.int8)
    # Drift raises prices: inflation and dynamic pricing moving amounts.
    base_price = np.round(_CATEGORY_PRICE[category] * rng.lognormal(0.0, 0.35, n_events) * (1 + 0.5 * config.drift), 2)
    base_price = np.maximum(base_price, 5.0)

    # Sales open on the hour in office hours, from 20 days before the period to its last day, and the
    # show starts 3 to 13 weeks later in the evening: every event sells at some point of the period.
    on_sale_day = rng.integers(-20, config.days, n_events)
    on_sale_us = config.start_us + on_sale_day * DAY_US + rng.integers(8, 17, n_events) * HOUR_US
    lead_days = rng.integers(21, 92, n_events)
    start_us = config.start_us + (on_sale_day + lead_days) * DAY_US + rng.integers(18, 22, n_events) * HOUR_US

    return Catalog(
        promoter=promoter.astype(np.int64),
        venue=venue.astype(np.int64),
        category=category,
        capacity=venue_capacity[venue],
        base_price=base_price,
        currency=venue_market[venue].astype(np.int8),
        on_sale_us=on_sale_us.astype(np.int64),
        start_us=start_us.astype(np.int64),
        popularity=popularity,
        event_ids=fixed_width_ids("e_", np.arange(n_events), digits_for(n_events, 5)),
        promoter_ids=fixed_width_ids("p_", np.arange(n_promoters), digits_for(n_promoters, 4)),
        venue_ids=fixed_width_ids("v_", np.arange(n_venues), digits_for(n_venues, 4)),
    )


def currency_names() -> pa.Array:
    """Currency strings indexed by Catalog.currency."""
    return pa.array([currency for _, currency in MARKETS])
