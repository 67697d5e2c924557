"""Traffic simulator: seeded worlds, scenarios, realtime traffic."""
