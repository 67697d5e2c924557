"""Beta posteriors of P(sale | arm, segment), kept in Redis so every worker and replica shares them.

Each segment is one hash `<prefix>:posterior:<segment>` with integer fields `<arm>:sold` and `<arm>:unsold`;
feedback is one HINCRBY, atomic on the server, so concurrent workers never lose an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# Beta(1, 1): before any feedback every conversion rate is equally likely.
PRIOR_ALPHA = 1.0
PRIOR_BETA = 1.0


class PosteriorUnavailable(RuntimeError):
    """The posterior store (Redis) cannot be reached or answered with an error."""


@dataclass(frozen=True)
class BetaPosterior:
    sold: int = 0
    unsold: int = 0

    @property
    def alpha(self) -> float:
        return PRIOR_ALPHA + self.sold

    @property
    def beta(self) -> float:
        return PRIOR_BETA + self.unsold

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def trials(self) -> int:
        return self.sold + self.unsold


class PosteriorStore(Protocol):
    def read(self, segment: str, arms: Sequence[str]) -> dict[str, BetaPosterior]: ...

    def record(self, segment: str, arm: str, *, sold: bool, arms: Sequence[str]) -> dict[str, BetaPosterior]: ...


def _posteriors(raw: Mapping[bytes, bytes], arms: Sequence[str]) -> dict[str, BetaPosterior]:
    # The client does not decode responses: field names arrive as bytes.
    counts = {k.decode(): int(v) for k, v in raw.items()}
    return {arm: BetaPosterior(counts.get(f"{arm}:sold", 0), counts.get(f"{arm}:unsold", 0)) for arm in arms}


@dataclass(frozen=True)
class RedisPosteriorStore:
    client: redis.Redis
    prefix: str

    def key(self, segment: str) -> str:
        return f"{self.prefix}:posterior:{segment}"

    def read(self, segment: str, arms: Sequence[str]) -> dict[str, BetaPosterior]:
        try:
            # The sync client returns the dict itself; redis-py types it as possibly awaitable.
            raw = cast("dict[bytes, bytes]", self.client.hgetall(self.key(segment)))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise PosteriorUnavailable(f"Redis posterior store unavailable: {exc}") from exc
        return _posteriors(raw, arms)

    def record(self, segment: str, arm: str, *, sold: bool, arms: Sequence[str]) -> dict[str, BetaPosterior]:
        """Count one outcome and return the segment's posteriors right after it (one MULTI/EXEC)."""
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(self.key(segment), f"{arm}:{'sold' if sold else 'unsold'}", 1)
                pipe.hgetall(self.key(segment))
                _, raw = pipe.execute()
        except (redis.exceptions.RedisError, OSError) as exc:
            raise PosteriorUnavailable(f"Redis posterior store unavailable: {exc}") from exc
        return _posteriors(raw, arms)


def redis_posterior_store(url: str, *, prefix: str, timeout_seconds: float) -> RedisPosteriorStore:
    """A store on a connection pool that fails fast: a slow Redis must degrade prices, not stall them."""
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        # No retries: the next request tries again anyway, and a retry would double the degraded latency.
        retry=Retry(NoBackoff(), 0),
    )
    return RedisPosteriorStore(client, prefix)
