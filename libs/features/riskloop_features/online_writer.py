"""Writing feature rows into Feast's Redis online store at stream rates.

`FeatureStore.write_to_online_store` goes through pandas and a protobuf object per value: about 60 µs a
row, three quarters of the stream worker's time. This writer lays the same bytes down (checked against
Feast's own write in `online_writer_test.py`) from Arrow columns, one pipelined HSET per entity.

Like Feast with `skip_dedup`, it does not read the stored timestamps first: the stream worker is the only
writer of its views and writes each entity's values in time order.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import redis

from riskloop_config.settings import RedisSettings
from riskloop_features.names import TIMESTAMP_FIELD
from riskloop_features.online_layout import encode_timestamp, entity_key_prefix, field_name, value_encoder

_LENGTH = struct.Struct("<I")


class RedisOnlineWriter:
    """Upserts rows of one feature view (join key column, event_timestamp, features) into `project`."""

    def __init__(self, client: redis.Redis, *, project: str, commands_per_round_trip: int = 2_000) -> None:
        self._client = client
        self._suffix = project.encode("utf8")
        self._chunk = commands_per_round_trip

    @classmethod
    def from_settings(cls, settings: RedisSettings, *, project: str) -> RedisOnlineWriter:
        client = redis.Redis(
            host=settings.host,
            port=settings.port,
            db=settings.db,
            password=settings.password.get_secret_value() or None,
        )
        return cls(client, project=project)

    def write(self, view: str, rows: pa.Table, *, join_key: str) -> None:
        """Write every row; the columns other than `join_key` and event_timestamp are the features."""
        if not rows.num_rows:
            return
        features = [name for name in rows.column_names if name not in (join_key, TIMESTAMP_FIELD)]
        prefix, suffix = entity_key_prefix(join_key), self._suffix
        keys = [
            prefix + _LENGTH.pack(len(encoded)) + encoded + suffix
            for encoded in (str(v).encode("utf8") for v in rows.column(join_key).to_pylist())
        ]
        micros = pc.cast(rows.column(TIMESTAMP_FIELD), pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
        columns: list[Sequence[bytes]] = [[encode_timestamp(m) for m in micros]]
        fields: list[bytes] = [f"_ts:{view}".encode()]
        for feature in features:
            column = rows.column(feature)
            encode = value_encoder(column.type)
            columns.append([encode(v) for v in column.to_pylist()])
            fields.append(field_name(view, feature))
        with self._client.pipeline(transaction=False) as pipe:
            for start in range(0, len(keys), self._chunk):
                for i in range(start, min(start + self._chunk, len(keys))):
                    arguments: list[bytes] = []
                    for field, column_values in zip(fields, columns, strict=True):
                        arguments += (field, column_values[i])
                    pipe.execute_command("HSET", keys[i], *arguments)
                pipe.execute()
