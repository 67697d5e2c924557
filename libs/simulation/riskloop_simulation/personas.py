"""User personas and the population drawn from them: how often each buys, what, how and from where."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from riskloop_simulation.config import PERSONAS, WorldConfig
from riskloop_simulation.identifiers import digits_for, fixed_width_ids, mix64

CASUAL, ENTHUSIAST, VIP, SCALPER, FRAUDSTER = range(len(PERSONAS))
LEGIT_PERSONAS = (CASUAL, ENTHUSIAST, VIP, SCALPER)

CHANNELS = ("web", "app", "api")
WEB, APP, API = range(3)
PAYMENT_METHODS = ("card", "apple_pay", "google_pay", "paypal")
CARD, APPLE_PAY, GOOGLE_PAY, PAYPAL = range(4)

# Buyer countries: homes of users, then the ones only drift brings in.
HOME_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "NL", "CA", "IE", "IT", "AU", "SE")
_HOME_SHARES = np.array([0.34, 0.16, 0.11, 0.10, 0.08, 0.05, 0.06, 0.03, 0.03, 0.02, 0.02])
DRIFT_COUNTRIES = ("BR", "IN", "NG", "MX", "PH")
COUNTRIES = HOME_COUNTRIES + DRIFT_COUNTRIES

# First octets of consumer ISP ranges and of hosting/VPN ranges.
_RESIDENTIAL_OCTETS = np.array([24, 31, 46, 62, 68, 71, 73, 77, 78, 81, 82, 86, 90, 92, 98, 99, 109, 172, 176, 188])
_DATACENTER_OCTETS = np.array([34, 35, 45, 52, 104, 138, 159, 167, 185, 193, 198])


@dataclass(frozen=True)
class PersonaProfile:
    """How one persona behaves; ranges are inclusive."""

    orders_per_day: float
    rush_affinity: float  # weight for buying in the first minutes of an on-sale
    extra_tickets: float  # Poisson mean of tickets beyond the first
    max_tickets_share: float  # share of orders at the per-order limit
    tier_probs: tuple[float, float, float]  # general, premium, vip
    price_sensitivity: float  # > 0 prefers cheap events, < 0 expensive ones
    channel_probs: tuple[float, float, float]  # web, app, api
    wallet_share: float  # share paid with a wallet or PayPal instead of a bare card
    devices: tuple[int, int]
    cards: tuple[int, int]
    ips: tuple[int, int]
    travel_rate: float  # share of orders placed abroad (new country and IP)
    new_device_rate: float  # share of orders from a device never seen before
    vpn_rate: float  # share of orders through a hosting/VPN address


PROFILES: tuple[PersonaProfile, ...] = (
    PersonaProfile(  # casual
        orders_per_day=0.05, rush_affinity=0.3, extra_tickets=0.9, max_tickets_share=0.00,
        tier_probs=(0.80, 0.17, 0.03), price_sensitivity=1.0, channel_probs=(0.60, 0.40, 0.00), wallet_share=0.30,
        devices=(1, 2), cards=(1, 1), ips=(1, 2), travel_rate=0.02, new_device_rate=0.010, vpn_rate=0.01,
    ),
    PersonaProfile(  # enthusiast
        orders_per_day=0.25, rush_affinity=2.0, extra_tickets=1.4, max_tickets_share=0.03,
        tier_probs=(0.55, 0.35, 0.10), price_sensitivity=0.3, channel_probs=(0.45, 0.55, 0.00), wallet_share=0.40,
        devices=(1, 3), cards=(1, 2), ips=(1, 3), travel_rate=0.04, new_device_rate=0.015, vpn_rate=0.03,
    ),
    PersonaProfile(  # vip
        orders_per_day=0.12, rush_affinity=1.5, extra_tickets=1.2, max_tickets_share=0.02,
        tier_probs=(0.15, 0.40, 0.45), price_sensitivity=-0.4, channel_probs=(0.50, 0.50, 0.00), wallet_share=0.50,
        devices=(2, 3), cards=(2, 3), ips=(1, 3), travel_rate=0.12, new_device_rate=0.020, vpn_rate=0.02,
    ),
    PersonaProfile(  # scalper: legit but aggressive resellers, the grey zone next to bots
        orders_per_day=1.50, rush_affinity=5.0, extra_tickets=4.0, max_tickets_share=0.55,
        tier_probs=(0.50, 0.35, 0.15), price_sensitivity=0.0, channel_probs=(0.35, 0.30, 0.35), wallet_share=0.10,
        devices=(2, 5), cards=(3, 6), ips=(2, 4), travel_rate=0.03, new_device_rate=0.020, vpn_rate=0.15,
    ),
    PersonaProfile(  # fraudster: places no legit orders, its traffic comes only from the fraud patterns
        orders_per_day=0.00, rush_affinity=0.0, extra_tickets=1.0, max_tickets_share=0.00,
        tier_probs=(0.20, 0.40, 0.40), price_sensitivity=-0.5, channel_probs=(0.50, 0.30, 0.20), wallet_share=0.00,
        devices=(3, 8), cards=(1, 2), ips=(2, 6), travel_rate=0.00, new_device_rate=0.000, vpn_rate=0.50,
    ),
)

# Households sharing a card: legit users whose card fingerprint is also another user's.
SHARED_CARD_SHARE = 0.03


@dataclass(frozen=True)
class Population:
    """Column arrays over users (index = user number)."""

    persona: np.ndarray  # int8 index into PERSONAS
    rate: np.ndarray  # float64 expected legit orders per day
    country: np.ndarray  # int16 index into COUNTRIES
    device_base: np.ndarray  # int64 first device number; the user's devices are base..base+n-1
    n_devices: np.ndarray
    card_base: np.ndarray
    n_cards: np.ndarray
    n_ips: np.ndarray
    user_ids: pa.Array
    legit_users: np.ndarray  # users of LEGIT_PERSONAS, ascending
    everyday_users: np.ndarray  # casual, enthusiast and vip users: takeover and stolen-card victims
    fraudsters: np.ndarray

    @property
    def size(self) -> int:
        return len(self.persona)



def _persona_counts(n_users: int, shares: np.ndarray) -> np.ndarray:
    # Largest remainder, then at least one user for every persona with a positive share.
    raw = shares * n_users
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(-(raw - counts), kind="stable")[: n_users - counts.sum()]] += 1
    for persona in np.flatnonzero((shares > 0) & (counts == 0)):
        donor = int(np.argmax(counts))
        counts[donor] -= 1
        counts[persona] += 1
    return counts


def _ranged(rng: np.random.Generator, persona: np.ndarray, attribute: str) -> np.ndarray:
    low = np.array([getattr(p, attribute)[0] for p in PROFILES])[persona]
    high = np.array([getattr(p, attribute)[1] for p in PROFILES])[persona]
    return rng.integers(low, high + 1)


def build_population(config: WorldConfig, rng: np.random.Generator) -> Population:
    n = config.n_users
    persona = np.repeat(np.arange(len(PERSONAS), dtype=np.int8), _persona_counts(n, config.persona_mix.shares()))
    rng.shuffle(persona)

    base_rate = np.array([p.orders_per_day for p in PROFILES])[persona]
    rate = base_rate * rng.lognormal(-0.125, 0.5, n) * config.activity
    country = rng.choice(len(HOME_COUNTRIES), size=n, p=_HOME_SHARES).astype(np.int16)

    n_devices = _ranged(rng, persona, "devices")
    n_cards = _ranged(rng, persona, "cards")
    n_ips = _ranged(rng, persona, "ips")
    device_base = np.concatenate([[0], np.cumsum(n_devices)[:-1]])
    card_base = np.concatenate([[0], np.cumsum(n_cards)[:-1]])

    # Household cards: a few legit users pay with another legit user's card.
    legit = np.flatnonzero(persona != FRAUDSTER)
    sharers = legit[rng.random(len(legit)) < SHARED_CARD_SHARE]
    owners = legit[rng.integers(0, len(legit), len(sharers))]
    card_base[sharers] = card_base[owners]
    n_cards[sharers] = 1

    return Population(
        persona=persona,
        rate=rate,
        country=country,
        device_base=device_base.astype(np.int64),
        n_devices=n_devices.astype(np.int64),
        card_base=card_base.astype(np.int64),
        n_cards=n_cards.astype(np.int64),
        n_ips=n_ips.astype(np.int64),
        user_ids=fixed_width_ids("u_", np.arange(n), digits_for(n, 6)),
        legit_users=np.flatnonzero(persona != FRAUDSTER),
        everyday_users=np.flatnonzero(persona < SCALPER),
        fraudsters=np.flatnonzero(persona == FRAUDSTER),
    )


def residential_ips(keys: np.ndarray, salt: int) -> np.ndarray:
    """A stable consumer-ISP address per key (e.g. user*8 + slot): the same key, the same address."""
    h = mix64(keys, salt)
    first = _RESIDENTIAL_OCTETS[(h % np.uint64(len(_RESIDENTIAL_OCTETS))).astype(np.intp)].astype(np.uint32)
    return (first << np.uint32(24)) | ((h >> np.uint64(20)) & np.uint64(0xFFFFFF)).astype(np.uint32)


def datacenter_ips(keys: np.ndarray, salt: int) -> np.ndarray:
    """A stable hosting/VPN address per key."""
    h = mix64(keys, salt)
    first = _DATACENTER_OCTETS[(h % np.uint64(len(_DATACENTER_OCTETS))).astype(np.intp)].astype(np.uint32)
    return (first << np.uint32(24)) | ((h >> np.uint64(20)) & np.uint64(0xFFFFFF)).astype(np.uint32)


def home_ips(user: np.ndarray, slot: np.ndarray, salt: int) -> np.ndarray:
    return residential_ips(user.astype(np.int64) * 8 + slot, salt)


def country_probs(drift: float) -> np.ndarray:
    """Where orders placed abroad come from: drift opens new markets."""
    weights = np.concatenate([_HOME_SHARES, np.full(len(DRIFT_COUNTRIES), 0.3 * drift / len(DRIFT_COUNTRIES) * 3)])
    return weights / weights.sum()


def drifted_channel_probs(drift: float) -> np.ndarray:
    """Channel probabilities per persona after drift: the app takes over from the web, a little API."""
    probs = np.array([p.channel_probs for p in PROFILES], dtype=np.float64)
    moved = probs[:, WEB] * 0.5 * drift
    probs[:, WEB] -= moved
    probs[:, APP] += moved * 0.85
    probs[:, API] += moved * 0.15
    return probs


def foreign_countries(rng: np.random.Generator, home: np.ndarray, drift: float) -> np.ndarray:
    """A country other than `home` per row, from where orders abroad come (drift opens new markets)."""
    probs = country_probs(drift)
    cumulative = np.cumsum(probs)
    draws = rng.random(len(home)) * cumulative[-1]
    country = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(probs) - 1)
    # A draw of the home country moves to another country that can occur at this drift.
    possible = len(COUNTRIES) if drift > 0 else len(HOME_COUNTRIES)
    same = country == home
    country[same] = (home[same] + 1 + rng.integers(0, possible - 1, int(same.sum()))) % possible
    return country.astype(np.int16)
