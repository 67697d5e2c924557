"""The long-horizon features: a user's purchase history and known chargebacks, and daily event and promoter
sales. Like the windows, each table has one row per entity at every change point and a value "as of t"
uses only what was known strictly before t.
"""

from __future__ import annotations

import pyarrow as pa

from riskloop_features import sql
from riskloop_features.names import EVENT_KEY, PROMOTER_KEY, TIMESTAMP_FIELD, USER_KEY
from riskloop_features.transactions import TIMESTAMP
from riskloop_features.windows import MICROS_PER_UNIT

# fraud_risk_score = (known chargebacks + PRIOR_STRENGTH * PRIOR_RATE) / (purchases + PRIOR_STRENGTH):
# a new user scores the prior rate; evidence moves it. A fixed prior, so it never learns from the future.
PRIOR_RATE = 0.02
PRIOR_STRENGTH = 10.0

USER_BEHAVIOR_SCHEMA = pa.schema(
    [
        pa.field(USER_KEY, pa.string()),
        pa.field(TIMESTAMP_FIELD, TIMESTAMP),
        pa.field("lifetime_purchases", pa.int64()),
        pa.field("fraud_risk_score", pa.float64()),
        pa.field("preferred_category", pa.string()),
    ]
)

EVENT_HISTORY_SCHEMA = pa.schema(
    [
        pa.field(EVENT_KEY, pa.string()),
        pa.field(PROMOTER_KEY, pa.string()),
        pa.field(TIMESTAMP_FIELD, TIMESTAMP),
        pa.field("total_tickets_sold", pa.int64()),
        pa.field("avg_ticket_price", pa.float64()),
        pa.field("promoter_success_rate", pa.float64()),
    ]
)


def _run(query: str, tables: dict[str, pa.Table], schema: pa.Schema) -> pa.Table:
    with sql.connection() as connection:
        for name, table in tables.items():
            connection.register(name, table)
        result = connection.sql(query).to_arrow_table()
    times = result.column("change_us").cast(pa.int64()).cast(TIMESTAMP)
    arrays = [times if f.name == TIMESTAMP_FIELD else result.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def user_behavior_changes(transactions: pa.Table, chargebacks: pa.Table) -> pa.Table:
    """USER_BEHAVIOR_SCHEMA rows at each purchase (ts + 1 µs) and each chargeback becoming known
    (chargeback_timestamp + 1 µs) of every user."""
    query = f"""
    WITH purchases AS (
        SELECT user_id, epoch_us(event_timestamp) + 1 AS t, event_category, transaction_id FROM tx
    ),
    known AS (SELECT user_id, epoch_us(chargeback_timestamp) + 1 AS t FROM cb),
    points AS (
        SELECT user_id, t, sum(p) AS p, sum(c) AS c FROM (
            SELECT user_id, t, 1 AS p, 0 AS c FROM purchases
            UNION ALL SELECT user_id, t, 0 AS p, 1 AS c FROM known
        ) GROUP BY user_id, t
    ),
    running AS (
        SELECT user_id, t,
            sum(p) OVER (PARTITION BY user_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS purchases,
            sum(c) OVER (PARTITION BY user_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS chargebacks
        FROM points
    ),
    -- The preferred category is the one that first reached the current top count; purchases at the same
    -- instant are taken in category then id order so the answer is deterministic.
    sequenced AS (
        SELECT user_id, t, event_category,
            row_number() OVER (PARTITION BY user_id, event_category ORDER BY t, transaction_id) AS n,
            row_number() OVER (PARTITION BY user_id ORDER BY t, event_category, transaction_id) AS seq
        FROM purchases
    ),
    tops AS (
        SELECT *, max(n) OVER (PARTITION BY user_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS top FROM sequenced
    ),
    leaders AS (
        SELECT user_id, t, seq,
            CASE WHEN n > coalesce(lag(top) OVER (PARTITION BY user_id ORDER BY seq), 0)
                 THEN event_category END AS leader
        FROM tops
    ),
    preferred AS (
        SELECT user_id, t, category FROM (
            SELECT user_id, t, seq,
                last_value(leader IGNORE NULLS) OVER (PARTITION BY user_id ORDER BY seq ROWS UNBOUNDED PRECEDING)
                    AS category
            FROM leaders
        ) QUALIFY row_number() OVER (PARTITION BY user_id, t ORDER BY seq DESC) = 1
    )
    SELECT r.user_id, r.t AS change_us, r.purchases AS lifetime_purchases,
        (r.chargebacks + {PRIOR_STRENGTH * PRIOR_RATE}) / (r.purchases + {PRIOR_STRENGTH}) AS fraud_risk_score,
        p.category AS preferred_category
    FROM running r ASOF LEFT JOIN preferred p ON r.user_id = p.user_id AND r.t >= p.t
    ORDER BY r.user_id, r.t
    """
    return _run(query, {"tx": transactions, "cb": chargebacks}, USER_BEHAVIOR_SCHEMA)


def event_history_snapshots(transactions: pa.Table, catalog: pa.Table) -> pa.Table:
    """EVENT_HISTORY_SCHEMA rows effective at each UTC midnight after a day with sales of the promoter,
    from every sale before that midnight."""
    day_us = 86_400 * MICROS_PER_UNIT
    query = f"""
    WITH sales AS (
        SELECT event_id, promoter_id,
            (epoch_us(event_timestamp) // {day_us} + 1) * {day_us} AS d,
            tickets::BIGINT AS tickets,
            CAST(round(amount * {MICROS_PER_UNIT}) AS BIGINT) AS amount
        FROM tx
    ),
    event_days AS (
        SELECT event_id, promoter_id, d,
            sum(sum(tickets)) OVER (PARTITION BY event_id, promoter_id ORDER BY d) AS tickets,
            sum(sum(amount)) OVER (PARTITION BY event_id, promoter_id ORDER BY d) AS amount
        FROM sales GROUP BY event_id, promoter_id, d
    ),
    promoter_days AS (
        SELECT promoter_id, d, sum(sum(tickets)) OVER (PARTITION BY promoter_id ORDER BY d) AS tickets
        FROM sales GROUP BY promoter_id, d
    ),
    on_sale AS (
        SELECT p.promoter_id, p.d, sum(c.capacity) AS capacity
        FROM promoter_days p JOIN cat c
            ON c.promoter_id = p.promoter_id AND epoch_us(c.on_sale_timestamp) < p.d
        GROUP BY p.promoter_id, p.d
    ),
    firsts AS (SELECT event_id, promoter_id, min(d) AS first_d FROM event_days GROUP BY ALL),
    pair_days AS (
        SELECT f.event_id, f.promoter_id, p.d, p.tickets AS promoter_tickets
        FROM firsts f JOIN promoter_days p ON p.promoter_id = f.promoter_id AND p.d >= f.first_d
    )
    SELECT x.event_id, x.promoter_id, x.d AS change_us,
        e.tickets AS total_tickets_sold,
        CASE WHEN e.tickets > 0 THEN e.amount / (e.tickets * {MICROS_PER_UNIT}.0) END AS avg_ticket_price,
        CASE WHEN s.capacity > 0 THEN x.promoter_tickets / s.capacity::DOUBLE END AS promoter_success_rate
    FROM pair_days x
    ASOF JOIN event_days e ON e.event_id = x.event_id AND e.promoter_id = x.promoter_id AND x.d >= e.d
    LEFT JOIN on_sale s ON s.promoter_id = x.promoter_id AND s.d = x.d
    ORDER BY x.event_id, x.promoter_id, x.d
    """
    return _run(query, {"tx": transactions, "cat": catalog}, EVENT_HISTORY_SCHEMA)
