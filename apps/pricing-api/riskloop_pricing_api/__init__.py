"""Dynamic pricing service: Thompson sampling over price multipliers."""
