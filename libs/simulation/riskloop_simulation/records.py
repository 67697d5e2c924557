"""Rendering numeric orders into the shared record contract, and labelling them (labels kept apart)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from riskloop_features.transactions import CHARGEBACK_SCHEMA, TRANSACTION_SCHEMA
from riskloop_simulation.catalog import CATEGORIES, DAY_US, TIER_PRICE_MULTIPLIER, TIERS, Catalog, currency_names
from riskloop_simulation.config import FRAUD_PATTERNS, FRIENDLY_FRAUD, WorldConfig
from riskloop_simulation.identifiers import fixed_width_ids, hashed_ids, ipv4_strings
from riskloop_simulation.orders import LEGIT, Orders
from riskloop_simulation.personas import CHANNELS, COUNTRIES, PAYMENT_METHODS, Population

# For evaluation only: never joined into features or training inputs.
GROUND_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("is_fraud", pa.bool_(), nullable=False),
        pa.field("fraud_pattern", pa.string(), nullable=True),  # null for legit transactions
    ]
)

TRANSACTION_ID_DIGITS = 12
_TIMESTAMP = TRANSACTION_SCHEMA.field("event_timestamp").type
_PATTERN_NAMES = pa.array([None, *FRAUD_PATTERNS], pa.string())
_REASONS = pa.array([FRIENDLY_FRAUD, *FRAUD_PATTERNS], pa.string())

# Chargeback delays: days after the purchase, at least 2, heavy-tailed, capped at 120 days.
_MIN_DELAY_DAYS = 2.0
_MAX_DELAY_DAYS = 120.0


@dataclass(frozen=True)
class Vocabulary:
    """The string columns orders index into."""

    catalog: Catalog
    population: Population
    categories: pa.Array = field(default_factory=lambda: pa.array(CATEGORIES))
    tiers: pa.Array = field(default_factory=lambda: pa.array(TIERS))
    currencies: pa.Array = field(default_factory=currency_names)
    payment_methods: pa.Array = field(default_factory=lambda: pa.array(PAYMENT_METHODS))
    countries: pa.Array = field(default_factory=lambda: pa.array(COUNTRIES))
    channels: pa.Array = field(default_factory=lambda: pa.array(CHANNELS))

def transactions_table(orders: Orders, first_sequence: int, words: Vocabulary, salt: int) -> pa.Table:
    """Orders (already in time order) as TRANSACTION_SCHEMA rows, numbered from `first_sequence`."""
    catalog = words.catalog
    event = pa.array(orders.event)
    unit_price = np.round(catalog.base_price[orders.event] * TIER_PRICE_MULTIPLIER[orders.tier], 2)
    amount = np.round(unit_price * orders.tickets, 2)
    columns = [
        transaction_ids(first_sequence, len(orders)),
        pa.array(orders.ts).cast(_TIMESTAMP),
        words.population.user_ids.take(pa.array(orders.user)),
        catalog.event_ids.take(event),
        catalog.promoter_ids.take(pa.array(catalog.promoter[orders.event])),
        catalog.venue_ids.take(pa.array(catalog.venue[orders.event])),
        words.categories.take(pa.array(catalog.category[orders.event])),
        words.tiers.take(pa.array(orders.tier)),
        pa.array(orders.tickets, pa.int32()),
        pa.array(unit_price, pa.float64()),
        pa.array(amount, pa.float64()),
        words.currencies.take(pa.array(catalog.currency[orders.event])),
        words.payment_methods.take(pa.array(orders.payment)),
        hashed_ids("c_", orders.card, salt, digits=14),
        hashed_ids("d_", orders.device, salt ^ 0x5DEECE66D, digits=12),
        ipv4_strings(orders.ip),
        words.countries.take(pa.array(orders.country)),
        words.channels.take(pa.array(orders.channel)),
    ]
    return pa.Table.from_arrays(columns, schema=TRANSACTION_SCHEMA)


def transaction_ids(first_sequence: int, n: int) -> pa.Array:
    return fixed_width_ids("t_", np.arange(first_sequence, first_sequence + n, dtype=np.int64), TRANSACTION_ID_DIGITS)


def ground_truth_table(transactions: pa.Table, orders: Orders) -> pa.Table:
    return pa.Table.from_arrays(
        [
            transactions.column("transaction_id").combine_chunks(),
            pa.array(orders.pattern != LEGIT, pa.bool_()),
            _PATTERN_NAMES.take(pa.array(orders.pattern)),
        ],
        schema=GROUND_TRUTH_SCHEMA,
    )


def chargebacks_table(
    transactions: pa.Table, orders: Orders, config: WorldConfig, rng: np.random.Generator
) -> pa.Table:
    """The late labels: the generating process decides them, features never do.

    Most fraud is charged back days to weeks later; some never is. A few legit purchases are charged
    back anyway (friendly fraud). Timestamps may fall after the simulated period: that is when they
    become known.
    """
    n = len(orders)
    fraud = orders.pattern != LEGIT
    charged = fraud & (rng.random(n) >= config.uncharged_fraud_share)
    friendly = ~fraud & (rng.random(n) < config.friendly_fraud_rate)
    fraud_delay = _MIN_DELAY_DAYS + rng.lognormal(np.log(7.0), 0.9, n)
    friendly_delay = 10.0 + rng.lognormal(np.log(20.0), 0.5, n)
    delay_days = np.minimum(np.where(fraud, fraud_delay, friendly_delay), _MAX_DELAY_DAYS)
    rows = np.flatnonzero(charged | friendly)
    at = orders.ts[rows] + (delay_days[rows] * DAY_US).astype(np.int64)
    reason = np.where(fraud[rows], orders.pattern[rows], 0)
    table = pa.Table.from_arrays(
        [
            transactions.column("transaction_id").take(pa.array(rows)),
            transactions.column("user_id").take(pa.array(rows)),
            pa.array(at).cast(_TIMESTAMP),
            _REASONS.take(pa.array(reason)),
        ],
        schema=CHARGEBACK_SCHEMA,
    )
    return table.combine_chunks()
