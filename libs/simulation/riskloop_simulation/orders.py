"""Orders as parallel numpy columns: the numeric form of transactions before ids are rendered."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

LEGIT = 0  # `pattern` of a legit order; fraud patterns are 1 + their index in FRAUD_PATTERNS

# Number spaces of things first seen during the simulation (new devices, stolen cards ...), kept
# apart from the population's own numbers so they never collide: namespace | day | counter.
_NAMESPACE_SHIFT = 44
_DAY_SHIFT = 26


def fresh_numbers(namespace: int, day: int, count: int) -> np.ndarray:
    return (np.int64(namespace) << _NAMESPACE_SHIFT) | (np.int64(day) << _DAY_SHIFT) | np.arange(count, dtype=np.int64)


# A column, or one value for every row.
Column = int | np.ndarray


@dataclass(frozen=True)
class Orders:
    ts: np.ndarray  # int64 UTC microseconds
    user: np.ndarray  # int64
    event: np.ndarray  # int64
    tier: np.ndarray  # int8
    tickets: np.ndarray  # int32
    card: np.ndarray  # int64 card number (hashed into a fingerprint when rendered)
    device: np.ndarray  # int64 device number
    ip: np.ndarray  # uint32
    country: np.ndarray  # int16
    channel: np.ndarray  # int8
    payment: np.ndarray  # int8
    pattern: np.ndarray  # int8: LEGIT or 1 + fraud pattern index

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: np.ndarray) -> Orders:
        return Orders(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def build(
        *,
        ts: np.ndarray,
        user: Column,
        event: Column,
        tier: Column,
        tickets: Column,
        card: Column,
        device: Column,
        ip: Column,
        country: Column,
        channel: Column,
        payment: Column,
        pattern: Column,
    ) -> Orders:
        """Orders from columns; a scalar stands for the same value on every row."""
        n = len(ts)

        def column(values: Column, dtype: type) -> np.ndarray:
            return np.broadcast_to(np.asarray(values), (n,)).astype(dtype)

        return Orders(
            ts=column(ts, np.int64),
            user=column(user, np.int64),
            event=column(event, np.int64),
            tier=column(tier, np.int8),
            tickets=column(tickets, np.int32),
            card=column(card, np.int64),
            device=column(device, np.int64),
            ip=column(ip, np.uint32),
            country=column(country, np.int16),
            channel=column(channel, np.int8),
            payment=column(payment, np.int8),
            pattern=column(pattern, np.int8),
        )

    @staticmethod
    def empty() -> Orders:
        nothing = np.zeros(0, dtype=np.int64)
        return Orders.build(
            ts=nothing, user=nothing, event=nothing, tier=nothing, tickets=nothing, card=nothing, device=nothing,
            ip=nothing, country=nothing, channel=nothing, payment=nothing, pattern=nothing,
        )

    @staticmethod
    def concat(parts: list[Orders]) -> Orders:
        if not parts:
            return Orders.empty()
        return Orders(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Orders)})


def categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """One draw per row from per-row category probabilities: `probs` is (k,) or (groups, k) indexed by `rows`."""
    cumulative = np.cumsum(probs, axis=-1)
    if cumulative.ndim == 1:
        n = len(rows) if rows is not None else 0
        u = rng.random(n) * cumulative[-1]
        return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)
    assert rows is not None
    per_row = cumulative[rows]
    u = rng.random(len(rows)) * per_row[:, -1]
    return np.minimum((u[:, None] >= per_row).sum(axis=1), cumulative.shape[-1] - 1)


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """`size` indices drawn with probability proportional to `weights` (which must not all be 0)."""
    cumulative = np.cumsum(weights)
    return np.minimum(np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right"), len(weights) - 1)


def burst_offsets(rng: np.random.Generator, sizes: np.ndarray, mean_gap_us: float) -> tuple[np.ndarray, np.ndarray]:
    """For campaigns of `sizes` orders: each order's campaign, and its offset from the campaign start
    (exponential gaps, first order at 0)."""
    campaign = np.repeat(np.arange(len(sizes)), sizes)
    gaps = rng.exponential(mean_gap_us, len(campaign))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gaps[starts[sizes > 0]] = 0.0
    total = np.cumsum(gaps)
    offsets = total - total[starts[campaign]]
    return campaign, offsets.astype(np.int64)
