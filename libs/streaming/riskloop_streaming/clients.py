"""Kafka settings as the arguments each client library expects: the one place they are translated."""

from __future__ import annotations

from typing import Any

from riskloop_config.settings import KafkaSettings


def bootstrap_list(kafka: KafkaSettings) -> list[str]:
    return [server.strip() for server in kafka.bootstrap_servers.split(",") if server.strip()]


def client_kwargs(kafka: KafkaSettings, *, client_id: str) -> dict[str, Any]:
    """Keyword arguments for aiokafka and kafka-python clients (both take the same names for these)."""
    return {"bootstrap_servers": bootstrap_list(kafka), "client_id": client_id}


def faust_broker_url(kafka: KafkaSettings) -> str:
    """faust's broker URL: `kafka://host:port;host2:port` (faust's aiokafka transport)."""
    return "kafka://" + ";".join(bootstrap_list(kafka))
