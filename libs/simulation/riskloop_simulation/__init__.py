"""Riskloop's seeded ticketing world: events, users with personas, purchases, fraud and late labels.

The same WorldConfig (seed included) always gives byte-identical tables. Transactions carry no label;
fraud shows only in behaviour, and labels arrive as chargebacks days later.
"""

from riskloop_simulation.config import (
    FRAUD_PATTERNS,
    FRIENDLY_FRAUD,
    MAX_TICKETS_PER_ORDER,
    PERSONAS,
    FraudPatternMix,
    InvalidWorldConfig,
    PersonaMix,
    WorldConfig,
)
from riskloop_simulation.records import GROUND_TRUTH_SCHEMA
from riskloop_simulation.world import (
    InvalidBatchSize,
    SimulatedData,
    SimulatedDay,
    World,
    iter_days,
    iter_transactions,
    simulate,
)
from riskloop_simulation.writer import InvalidOutputLocation, read_parquet, s3_filesystem, write_parquet

__all__ = [
    "FRAUD_PATTERNS",
    "FRIENDLY_FRAUD",
    "GROUND_TRUTH_SCHEMA",
    "MAX_TICKETS_PER_ORDER",
    "PERSONAS",
    "FraudPatternMix",
    "InvalidBatchSize",
    "InvalidOutputLocation",
    "InvalidWorldConfig",
    "PersonaMix",
    "SimulatedData",
    "SimulatedDay",
    "World",
    "WorldConfig",
    "iter_days",
    "iter_transactions",
    "read_parquet",
    "s3_filesystem",
    "simulate",
    "write_parquet",
]
