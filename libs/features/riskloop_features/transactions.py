"""The raw records every Riskloop component exchanges: the contract between the simulator (or live
traffic), the Kafka topics, the Parquet archive, the feature jobs and the fraud API.

One place defines them; everything else imports these schemas. Timestamps are UTC, microseconds.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

# One purchase attempt. Keyed by user_id on raw.transactions. Carries no label and no feature.
TRANSACTION_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("event_timestamp", TIMESTAMP, nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("promoter_id", pa.string(), nullable=False),
        pa.field("venue_id", pa.string(), nullable=False),
        pa.field("event_category", pa.string(), nullable=False),
        pa.field("ticket_tier", pa.string(), nullable=False),
        pa.field("tickets", pa.int32(), nullable=False),
        pa.field("unit_price", pa.float64(), nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("payment_method", pa.string(), nullable=False),
        pa.field("card_fingerprint", pa.string(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("ip_address", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
    ]
)

# A chargeback: the late label. Arrives days after the purchase; its timestamp is when it became known.
CHARGEBACK_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("chargeback_timestamp", TIMESTAMP, nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

# The event catalog (inventory and prices), from the ticketing system, not from traffic.
EVENT_CATALOG_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("promoter_id", pa.string(), nullable=False),
        pa.field("venue_id", pa.string(), nullable=False),
        pa.field("event_category", pa.string(), nullable=False),
        pa.field("capacity", pa.int64(), nullable=False),
        pa.field("base_price", pa.float64(), nullable=False),
        pa.field("on_sale_timestamp", TIMESTAMP, nullable=False),
        pa.field("event_start_timestamp", TIMESTAMP, nullable=False),
    ]
)
