"""What a simulated world looks like: sizes, period, persona and fraud mixes, drift. Validated once."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

import numpy as np

PERSONAS = ("casual", "enthusiast", "vip", "scalper", "fraudster")
FRAUD_PATTERNS = ("card_testing", "account_takeover", "bot_scalping", "stolen_cards")
FRIENDLY_FRAUD = "friendly_fraud"

# The platform's per-order ticket limit; bots always hit it.
MAX_TICKETS_PER_ORDER = 8


class InvalidWorldConfig(ValueError):
    """A WorldConfig that cannot describe a world; `problems` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid world config: " + "; ".join(problems))


def _shares(mix: object) -> np.ndarray:
    values = np.array([getattr(mix, f.name) for f in fields(mix)], dtype=np.float64)  # type: ignore[arg-type]
    return values / values.sum()


def _mix_problems(name: str, mix: object) -> list[str]:
    values = [getattr(mix, f.name) for f in fields(mix)]  # type: ignore[arg-type]
    if any(v < 0 for v in values):
        return [f"{name} shares must be >= 0, got {values}"]
    if sum(values) <= 0:
        return [f"{name} shares must not all be 0"]
    return []


@dataclass(frozen=True)
class PersonaMix:
    """Relative shares of user personas (normalised, need not sum to 1)."""

    casual: float = 0.62
    enthusiast: float = 0.22
    vip: float = 0.06
    scalper: float = 0.03
    fraudster: float = 0.07

    def shares(self) -> np.ndarray:
        return _shares(self)


@dataclass(frozen=True)
class FraudPatternMix:
    """Relative shares of fraudulent transactions per pattern (normalised)."""

    card_testing: float = 0.30
    account_takeover: float = 0.25
    bot_scalping: float = 0.25
    stolen_cards: float = 0.20

    def shares(self) -> np.ndarray:
        return _shares(self)


# Where full drift moves the fraud mix: takeovers and bots grow, card testing shrinks.
DRIFTED_FRAUD_MIX = FraudPatternMix(card_testing=0.10, account_takeover=0.40, bot_scalping=0.35, stolen_cards=0.15)


@dataclass(frozen=True)
class WorldConfig:
    """Everything that decides a world: the same config (seed included) gives byte-identical data."""

    seed: int = 0
    n_users: int = 10_000
    n_events: int = 300
    n_promoters: int = 40
    n_venues: int = 60
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    days: int = 30
    # Multiplies every legit user's purchase rate: more traffic without more users (benchmarks).
    activity: float = 1.0
    # Target share of fraudulent transactions among all transactions.
    fraud_rate: float = 0.02
    persona_mix: PersonaMix = field(default_factory=PersonaMix)
    fraud_pattern_mix: FraudPatternMix = field(default_factory=FraudPatternMix)
    # Share of fraud that is never charged back (the label never arrives).
    uncharged_fraud_share: float = 0.10
    # Probability a legit transaction is charged back anyway (friendly fraud: label noise).
    friendly_fraud_rate: float = 0.002
    # 0 = the reference world; 1 = prices, channels, countries and the fraud mix fully shifted.
    drift: float = 0.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.n_users < 2:
            problems.append(f"n_users must be >= 2, got {self.n_users}")
        if self.n_users >= 10**9:
            problems.append(f"n_users must be < 1e9, got {self.n_users}")
        if not 1 <= self.n_events < 10**7:
            problems.append(f"n_events must be in [1, 1e7), got {self.n_events}")
        if not 1 <= self.n_promoters <= max(self.n_events, 1):
            problems.append(f"n_promoters must be in [1, n_events], got {self.n_promoters}")
        if not 1 <= self.n_venues < 10**6:
            problems.append(f"n_venues must be in [1, 1e6), got {self.n_venues}")
        if not 1 <= self.days <= 3660:
            problems.append(f"days must be in [1, 3660], got {self.days}")
        if self.start.tzinfo is None:
            problems.append("start must be timezone-aware (UTC)")
        if not self.activity > 0:
            problems.append(f"activity must be > 0, got {self.activity}")
        if not 0 <= self.fraud_rate < 0.5:
            problems.append(f"fraud_rate must be in [0, 0.5), got {self.fraud_rate}")
        if not 0 <= self.uncharged_fraud_share <= 1:
            problems.append(f"uncharged_fraud_share must be in [0, 1], got {self.uncharged_fraud_share}")
        if not 0 <= self.friendly_fraud_rate <= 0.1:
            problems.append(f"friendly_fraud_rate must be in [0, 0.1], got {self.friendly_fraud_rate}")
        if not 0 <= self.drift <= 1:
            problems.append(f"drift must be in [0, 1], got {self.drift}")
        problems += _mix_problems("persona_mix", self.persona_mix)
        problems += _mix_problems("fraud_pattern_mix", self.fraud_pattern_mix)
        if not problems:
            mix = self.persona_mix
            legit = mix.casual + mix.enthusiast + mix.vip + mix.scalper
            if legit <= 0:
                problems.append("persona_mix needs a legit persona (casual, enthusiast, vip or scalper)")
            if self.fraud_rate > 0 and self.persona_mix.fraudster <= 0:
                problems.append("fraud_rate > 0 needs fraudster accounts: persona_mix.fraudster must be > 0")
        if problems:
            raise InvalidWorldConfig(problems)
        # Days are whole UTC days: start at the midnight of the given instant.
        utc = self.start.astimezone(UTC)
        object.__setattr__(self, "start", datetime(utc.year, utc.month, utc.day, tzinfo=UTC))

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def start_us(self) -> int:
        return int(self.start.timestamp()) * 1_000_000

    def effective_fraud_mix(self) -> np.ndarray:
        """The fraud pattern shares after drift, in FRAUD_PATTERNS order."""
        return (1 - self.drift) * self.fraud_pattern_mix.shares() + self.drift * DRIFTED_FRAUD_MIX.shares()
