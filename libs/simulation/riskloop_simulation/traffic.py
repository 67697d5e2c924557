"""Legit demand: everyday browsing purchases on a daily cycle, and rushes when popular events go on sale."""

from __future__ import annotations

import numpy as np

from riskloop_simulation.catalog import DAY_US
from riskloop_simulation.config import MAX_TICKETS_PER_ORDER
from riskloop_simulation.day import Day
from riskloop_simulation.orders import LEGIT, Orders, categorical, fresh_numbers, weighted_choice
from riskloop_simulation.personas import (
    APP,
    APPLE_PAY,
    CARD,
    GOOGLE_PAY,
    LEGIT_PERSONAS,
    PAYPAL,
    PROFILES,
    SCALPER,
    datacenter_ips,
    drifted_channel_probs,
    foreign_countries,
    home_ips,
    residential_ips,
)

# Orders in the first minutes of an on-sale, as a multiple of the day's volume times the event's
# popularity share: the top events get flash-sale spikes.
RUSH_INTENSITY = 3.0
RUSH_MEAN_DELAY_US = 10 * 60 * 1_000_000
# Share of rush buyers who place a second order right after the first (legit repeat buying).
RUSH_REPEAT_SHARE = 0.2

# Number spaces of things legit users first use during the simulation.
NEW_DEVICE_SPACE = 1
TRAVEL_IP_SPACE = 2
VPN_IP_SPACE = 3


def legit_orders(day: Day, rng: np.random.Generator) -> Orders:
    if len(day.active) == 0:
        return Orders.empty()
    population = day.population
    legit = population.legit_users
    rates = population.rate[legit]
    volume = float(rates.sum()) * day.weekday_factor

    # Browsing: each user buys a Poisson number of times (O(users), no search); when follows the daily cycle.
    browse_users = np.repeat(legit, rng.poisson(rates * day.weekday_factor))
    n_browse = len(browse_users)
    browse_ts = day.times_of_day(rng, n_browse)
    browse_events = _browse_events(day, rng, population.persona[browse_users])
    browse_ts = _into_window(day, rng, browse_ts, browse_events)

    # Rushes: popular events opening today draw buyers in the first minutes after on-sale.
    rush_users, rush_events, rush_ts = _rush(day, rng, legit, rates, volume)

    users = np.concatenate([browse_users, rush_users])
    events = np.concatenate([browse_events, rush_events])
    ts = np.concatenate([browse_ts, rush_ts])
    return _legit_details(day, rng, users, events, ts)


def _event_weights(day: Day, persona: int) -> np.ndarray:
    catalog = day.catalog
    events = day.active
    profile = PROFILES[persona]
    days_since_on_sale = np.maximum(day.start_us - catalog.on_sale_us[events], 0) / DAY_US
    days_to_start = np.maximum(catalog.start_us[events] - day.end_us, 0) / DAY_US
    # Demand peaks just after on-sale and again before the show.
    freshness = 1 + 2 * np.exp(-days_since_on_sale / 4) + np.exp(-days_to_start / 5)
    price = catalog.base_price[events] / np.median(catalog.base_price)
    popularity = catalog.popularity[events] ** (1.5 if persona == SCALPER else 1.0)  # scalpers chase hits
    return popularity * freshness * price ** (-profile.price_sensitivity)


def _browse_events(day: Day, rng: np.random.Generator, persona: np.ndarray) -> np.ndarray:
    events = np.empty(len(persona), dtype=np.int64)
    for p in LEGIT_PERSONAS:
        rows = np.flatnonzero(persona == p)
        if len(rows):
            events[rows] = day.active[weighted_choice(rng, _event_weights(day, p), len(rows))]
    return events


def _into_window(day: Day, rng: np.random.Generator, ts: np.ndarray, events: np.ndarray) -> np.ndarray:
    # An order drawn before the event's on-sale moves to shortly after it (people wait for the drop);
    # one drawn after the show starts moves to shortly before.
    on_sale = day.catalog.on_sale_us[events]
    start = day.catalog.start_us[events]
    jitter = rng.exponential(2 * 3_600 * 1_000_000, len(ts)).astype(np.int64)
    ts = np.where(ts < on_sale, on_sale + jitter, ts)
    ts = np.where(ts >= start, start - 1 - jitter, ts)
    return day.fit_window(ts, events)


def _rush(
    day: Day, rng: np.random.Generator, legit: np.ndarray, rates: np.ndarray, volume: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    catalog, population = day.catalog, day.population
    opening = day.opening
    if len(opening) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts = rng.poisson(RUSH_INTENSITY * volume * catalog.popularity[opening])
    events = np.repeat(opening, counts)
    affinity = np.array([p.rush_affinity for p in PROFILES])[population.persona[legit]]
    users = legit[weighted_choice(rng, rates * affinity, len(events))]
    ts = catalog.on_sale_us[events] + rng.exponential(RUSH_MEAN_DELAY_US, len(events)).astype(np.int64)
    # Some rush buyers come back within minutes for more (looks like a small bot burst).
    again = rng.random(len(events)) < RUSH_REPEAT_SHARE
    repeat_ts = ts[again] + rng.exponential(90 * 1_000_000, int(again.sum())).astype(np.int64)
    users = np.concatenate([users, users[again]])
    events = np.concatenate([events, events[again]])
    ts = day.fit_window(np.concatenate([ts, repeat_ts]), events)
    return users, events, ts


def _legit_details(day: Day, rng: np.random.Generator, users: np.ndarray, events: np.ndarray, ts: np.ndarray) -> Orders:
    population, config = day.population, day.config
    n = len(users)
    persona = population.persona[users].astype(np.intp)

    tier = categorical(rng, np.array([p.tier_probs for p in PROFILES]), persona)
    extra = np.array([p.extra_tickets for p in PROFILES])[persona] * (1 + 0.3 * config.drift)
    tickets = 1 + rng.poisson(extra)
    at_limit = rng.random(n) < np.array([p.max_tickets_share for p in PROFILES])[persona]
    tickets = np.where(at_limit, MAX_TICKETS_PER_ORDER, np.minimum(tickets, MAX_TICKETS_PER_ORDER))
    channel = categorical(rng, drifted_channel_probs(config.drift), persona)

    # Mostly the primary device and card; sometimes another of the user's own, rarely a new device.
    device_slot = np.where(rng.random(n) < 0.6, 0, rng.integers(0, population.n_devices[users]))
    device = population.device_base[users] + device_slot
    new_device = rng.random(n) < np.array([p.new_device_rate for p in PROFILES])[persona]
    device[new_device] = fresh_numbers(NEW_DEVICE_SPACE, day.index, int(new_device.sum()))
    card = population.card_base[users] + rng.integers(0, population.n_cards[users])

    ip_slot = np.where(rng.random(n) < 0.7, 0, rng.integers(0, population.n_ips[users]))
    ip = home_ips(users, ip_slot, day.salt)
    country = population.country[users].copy()
    # Travellers: a legit order from a new country and address, on a known device.
    travel_rate = np.array([p.travel_rate for p in PROFILES])[persona] * (1 + 2 * config.drift)
    abroad = rng.random(n) < travel_rate
    n_abroad = int(abroad.sum())
    country[abroad] = foreign_countries(rng, country[abroad], config.drift)
    ip[abroad] = residential_ips(fresh_numbers(TRAVEL_IP_SPACE, day.index, n_abroad), day.salt)
    vpn = rng.random(n) < np.array([p.vpn_rate for p in PROFILES])[persona]
    ip[vpn] = datacenter_ips(fresh_numbers(VPN_IP_SPACE, day.index, int(vpn.sum())) % 5000, day.salt)

    wallet = rng.random(n) < np.array([p.wallet_share for p in PROFILES])[persona]
    payment = np.where(channel == APP, np.where(users % 2 == 0, APPLE_PAY, GOOGLE_PAY), PAYPAL)
    payment = np.where(wallet, payment, CARD)
    return Orders.build(
        ts=ts, user=users, event=events, tier=tier, tickets=tickets, card=card, device=device, ip=ip,
        country=country, channel=channel, payment=payment, pattern=LEGIT,
    )
