"""Fraud campaigns. Each pattern leaves its signature in behaviour (timing, devices, cards, channel,
amounts), never in a column: the label exists only in the generating process.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from riskloop_simulation.catalog import HOUR_US
from riskloop_simulation.config import FRAUD_PATTERNS, MAX_TICKETS_PER_ORDER
from riskloop_simulation.day import HOURLY_PROFILE, Day
from riskloop_simulation.orders import Orders, burst_offsets, categorical, fresh_numbers, weighted_choice
from riskloop_simulation.personas import (
    API,
    APP,
    CARD,
    PAYPAL,
    WEB,
    country_probs,
    datacenter_ips,
    foreign_countries,
    residential_ips,
)

CARD_TESTING, ACCOUNT_TAKEOVER, BOT_SCALPING, STOLEN_CARDS = (1 + i for i in range(len(FRAUD_PATTERNS)))

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US

# Number spaces of devices, cards and addresses fraudsters bring (fresh each campaign).
_TESTER_DEVICE, _TESTER_CARDS, _TESTER_IP = 10, 11, 12
_TAKEOVER_DEVICE, _TAKEOVER_CARD, _TAKEOVER_IP = 13, 14, 15
_BOT_DEVICE, _BOT_CARDS, _BOT_IP = 16, 17, 18
_THIEF_IP = 19

# Stolen-card buys happen while the card owner sleeps.
_ODD_HOURS = np.where(np.arange(24) < 6, 1.0, 0.05) * HOURLY_PROFILE.max()


def fraud_orders(day: Day, rng: np.random.Generator, expected: np.ndarray) -> Orders:
    """About `expected[i]` orders of FRAUD_PATTERNS[i] on this day, in whole campaigns (a Poisson
    number of them), so bursts keep their shape however little fraud a day holds."""
    if len(day.active) == 0:
        return Orders.empty()
    makers = (_card_testing, _account_takeover, _bot_scalping, _stolen_cards)
    return Orders.concat([make(day, rng, float(n)) for make, n in zip(makers, expected, strict=True) if n > 0])


def _sizes(
    rng: np.random.Generator, expected_orders: float, mean_size: float, draw: Callable[[int], np.ndarray]
) -> np.ndarray:
    return np.maximum(draw(int(rng.poisson(expected_orders / mean_size))), 1).astype(np.int64)


def _fraud_ips(day: Day, rng: np.random.Generator, space: int, n: int) -> np.ndarray:
    # Mostly hosting/VPN addresses, some residential proxies.
    keys = fresh_numbers(space, day.index, n)
    return np.where(rng.random(n) < 0.7, datacenter_ips(keys, day.salt), residential_ips(keys, day.salt))


def _campaign_starts(day: Day, rng: np.random.Generator, k: int, hourly: np.ndarray = HOURLY_PROFILE) -> np.ndarray:
    return np.minimum(day.times_of_day(rng, k, hourly), day.end_us - HOUR_US)


def _fraudsters(day: Day, rng: np.random.Generator, k: int) -> np.ndarray:
    accounts = day.population.fraudsters
    return accounts[rng.integers(0, len(accounts), k)]


def _victims(day: Day, rng: np.random.Generator, k: int) -> np.ndarray:
    # Ordinary customers, the active ones more often (attackers harvest used accounts and cards); a
    # world of scalpers only falls back to any legit account.
    population = day.population
    users = population.everyday_users if len(population.everyday_users) else population.legit_users
    return users[weighted_choice(rng, population.rate[users], k)]


def _card_testing(day: Day, rng: np.random.Generator, n: float) -> Orders:
    """Bursts of tiny purchases within minutes: one device and address, a new card every attempt."""
    sizes = _sizes(rng, n, 8 + 14, lambda k: 8 + rng.geometric(1 / 14, k))
    k = len(sizes)
    campaign, offset = burst_offsets(rng, sizes, 25 * SECOND_US)
    # Cheapest tickets: the cheapest quarter of what is on sale.
    by_price = day.steady[np.argsort(day.catalog.base_price[day.steady], kind="stable")]
    cheap = by_price[: max(1, len(by_price) // 4)]
    event = cheap[rng.integers(0, len(cheap), k)]
    device = fresh_numbers(_TESTER_DEVICE, day.index, k)
    ip = _fraud_ips(day, rng, _TESTER_IP, k)
    country = categorical(rng, country_probs(day.config.drift), np.zeros(k, dtype=np.intp))
    channel = np.where(rng.random(k) < 0.7, WEB, API)
    ts = _campaign_starts(day, rng, k)[campaign] + offset
    return Orders.build(
        ts=day.fit_window(ts, event[campaign]), user=_fraudsters(day, rng, k)[campaign], event=event[campaign],
        tier=0, tickets=1, card=fresh_numbers(_TESTER_CARDS, day.index, len(campaign)), device=device[campaign],
        ip=ip[campaign], country=country[campaign], channel=channel[campaign], payment=CARD, pattern=CARD_TESTING,
    )


def _account_takeover(day: Day, rng: np.random.Generator, n: float) -> Orders:
    """A legit account suddenly on a new device from a new country, buying dear tickets in a short burst."""
    population = day.population
    sizes = _sizes(rng, n, 1 + 2, lambda k: 1 + rng.binomial(4, 0.5, k))
    k = len(sizes)
    campaign, offset = burst_offsets(rng, sizes, 4 * MINUTE_US)
    victim = _victims(day, rng, k)
    home = population.country[victim]
    country = foreign_countries(rng, home, day.config.drift)
    device = fresh_numbers(_TAKEOVER_DEVICE, day.index, k)
    ip = _fraud_ips(day, rng, _TAKEOVER_IP, k)
    channel = np.where(rng.random(k) < 0.6, WEB, APP)
    m = len(campaign)
    user = victim[campaign]
    # The saved card of the account, or a card the attacker adds.
    own_card = population.card_base[user] + rng.integers(0, population.n_cards[user])
    card = np.where(rng.random(m) < 0.7, own_card, fresh_numbers(_TAKEOVER_CARD, day.index, m))
    event = day.steady[weighted_choice(rng, day.catalog.popularity[day.steady], m)]
    ts = _campaign_starts(day, rng, k)[campaign] + offset
    return Orders.build(
        ts=day.fit_window(ts, event), user=user, event=event,
        tier=categorical(rng, np.array([0.1, 0.45, 0.45]), campaign),
        tickets=rng.integers(2, 7, m), card=card, device=device[campaign], ip=ip[campaign], country=country[campaign],
        channel=channel[campaign], payment=np.where(rng.random(m) < 0.8, CARD, PAYPAL), pattern=ACCOUNT_TAKEOVER,
    )


def _bot_scalping(day: Day, rng: np.random.Generator, n: float) -> Orders:
    """Scripted buying through the API right at on-sale of hot events: max tickets, rotating cards and IPs."""
    catalog = day.catalog
    sizes = _sizes(rng, n, 10 + 15, lambda k: 10 + rng.geometric(1 / 15, k))
    k = len(sizes)
    campaign, offset = burst_offsets(rng, sizes, 6 * SECOND_US)
    if len(day.opening):
        event = day.opening[weighted_choice(rng, catalog.popularity[day.opening] ** 1.5, k)]
        start = catalog.on_sale_us[event] + rng.exponential(20 * SECOND_US, k).astype(np.int64)
    else:
        event = day.steady[weighted_choice(rng, catalog.popularity[day.steady] ** 1.5, k)]
        start = _campaign_starts(day, rng, k)
    m = len(campaign)
    # Each campaign owns a small pool of cards and addresses and rotates through them.
    pool = 6
    slot = rng.integers(0, pool, m)
    card = fresh_numbers(_BOT_CARDS, day.index, k * pool)[campaign * pool + slot]
    ip = _fraud_ips(day, rng, _BOT_IP, k * pool)[campaign * pool + rng.integers(0, pool, m)]
    device = fresh_numbers(_BOT_DEVICE, day.index, k * 2)[campaign * 2 + rng.integers(0, 2, m)]
    country = categorical(rng, country_probs(day.config.drift), np.zeros(k, dtype=np.intp))
    return Orders.build(
        ts=day.fit_window(start[campaign] + offset, event[campaign]), user=_fraudsters(day, rng, k)[campaign],
        event=event[campaign], tier=categorical(rng, np.array([0.6, 0.4]), campaign), tickets=MAX_TICKETS_PER_ORDER,
        card=card, device=device, ip=ip, country=country[campaign], channel=API, payment=CARD, pattern=BOT_SCALPING,
    )


def _stolen_cards(day: Day, rng: np.random.Generator, n: float) -> Orders:
    """A fraudster account paying for expensive tiers at odd hours with a card other users own."""
    population, catalog = day.population, day.catalog
    sizes = _sizes(rng, n, 1 + 0.8, lambda k: 1 + rng.binomial(2, 0.4, k))
    k = len(sizes)
    campaign, offset = burst_offsets(rng, sizes, 10 * MINUTE_US)
    thief = _fraudsters(day, rng, k)
    owner = _victims(day, rng, k)
    card = population.card_base[owner] + rng.integers(0, population.n_cards[owner])
    device = population.device_base[thief] + rng.integers(0, population.n_devices[thief])
    ip = _fraud_ips(day, rng, _THIEF_IP, k)
    m = len(campaign)
    weights = catalog.popularity[day.steady] * catalog.base_price[day.steady]
    event = day.steady[weighted_choice(rng, weights, m)]
    ts = _campaign_starts(day, rng, k, _ODD_HOURS)[campaign] + offset
    return Orders.build(
        ts=day.fit_window(ts, event), user=thief[campaign], event=event,
        tier=categorical(rng, np.array([0.05, 0.35, 0.6]), campaign), tickets=rng.integers(2, 5, m),
        card=card[campaign], device=device[campaign], ip=ip[campaign], country=population.country[thief][campaign],
        channel=np.where(rng.random(m) < 0.5, WEB, APP), payment=CARD, pattern=STOLEN_CARDS,
    )
