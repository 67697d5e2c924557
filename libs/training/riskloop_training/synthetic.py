"""A seeded synthetic labelled transactions table with a realistic, learnable fraud signal: for tests,
demos and the search benchmark, where no feature store is at hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNTRIES = ("DE", "FR", "GB", "NL", "US", "BR", "NG", "IN")
CHANNELS = ("web", "ios", "android", "pos")
CARD_TYPES = ("debit", "credit", "prepaid")


def synthetic_transactions(
    rows: int,
    *,
    seed: int = 0,
    positive_rate: float = 0.02,
    extra_numeric: int = 10,
    start: str = "2026-01-01",
    days: int = 30,
) -> pd.DataFrame:
    """Columns: transaction_id and user_id (id-like, to drop), event_time, amount, hour, tx_count_1h,
    tx_count_24h, amount_vs_user_mean, account_age_days, distinct_cards_24h, `extra_numeric` noise-ish
    numerics (f00..), categoricals country, channel, card_type, and the label is_fraud (about
    `positive_rate` positives). Timestamps are whole seconds, so ties occur, as in real event data."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, rows)
    hour = rng.integers(0, 24, rows)
    tx_1h = rng.poisson(0.6, rows)
    tx_24h = tx_1h + rng.poisson(3.0, rows)
    amount_ratio = rng.lognormal(0.0, 0.5, rows)
    account_age = rng.exponential(400.0, rows)
    cards_24h = 1 + rng.poisson(0.1, rows)
    country = rng.choice(len(COUNTRIES), rows, p=[0.25, 0.18, 0.17, 0.1, 0.15, 0.06, 0.04, 0.05])
    channel = rng.choice(len(CHANNELS), rows, p=[0.45, 0.25, 0.2, 0.1])
    card = rng.choice(len(CARD_TYPES), rows, p=[0.5, 0.4, 0.1])
    extras = rng.normal(size=(rows, extra_numeric))

    country_risk = np.array([0.0, 0.0, 0.1, 0.0, 0.2, 0.8, 1.2, 0.5])[country]
    logit = (
        1.1 * np.log1p(tx_1h)
        + 0.9 * np.log(amount_ratio)
        + 0.7 * (cards_24h - 1)
        - 0.6 * np.log1p(account_age / 30.0)
        + 0.5 * ((hour < 6) | (hour >= 23))
        + country_risk
        + 0.6 * (card == 2)
        + 0.3 * (channel == 0)
        + (0.25 * extras[:, 0] - 0.2 * extras[:, 1] if extra_numeric >= 2 else 0.0)
        + rng.normal(0.0, 0.8, rows)
    )
    # Shift the intercept (bisection) so the expected positive rate lands where asked.
    low, high = float(logit.min()) - 10.0, float(logit.max()) + 10.0
    for _ in range(50):
        intercept = (low + high) / 2.0
        rate = float(np.mean(1.0 / (1.0 + np.exp(-(logit - intercept) * 3.0))))
        low, high = (intercept, high) if rate > positive_rate else (low, intercept)
    probability = 1.0 / (1.0 + np.exp(-(logit - intercept) * 3.0))
    label = (rng.random(rows) < probability).astype("int8")

    seconds = np.sort(rng.integers(0, days * 86_400, rows))
    frame = pd.DataFrame(
        {
            "transaction_id": np.arange(rows, dtype="int64"),
            "user_id": rng.integers(0, max(rows // 20, 1), rows),
            "event_time": pd.Timestamp(start, tz="UTC") + pd.to_timedelta(seconds, unit="s"),
            "amount": amount.round(2),
            "hour": hour,
            "tx_count_1h": tx_1h,
            "tx_count_24h": tx_24h,
            "amount_vs_user_mean": amount_ratio,
            "account_age_days": account_age,
            "distinct_cards_24h": cards_24h,
            "country": np.asarray(COUNTRIES, dtype=object)[country],
            "channel": np.asarray(CHANNELS, dtype=object)[channel],
            "card_type": np.asarray(CARD_TYPES, dtype=object)[card],
        }
    )
    for index in range(extra_numeric):
        frame[f"f{index:02d}"] = extras[:, index]
    frame["is_fraud"] = label
    return frame
