"""Feast's Redis online-store layout, both ways, without importing `feast`: importing it costs 5-10 s of
start-up per worker (its __init__ pulls in every offline store), and its per-row protobuf path is the
stream worker's bottleneck. The fraud API reads with it; the stream worker writes with it.
`online_layout_test.py` checks every function here against Feast's own implementation.

Layout (feast.infra.online_stores.redis, entity key serialization version 3):
  key    = serialize_entity_key(EntityKey(join_keys, values)) + project
  fields = murmur3_32("<view>:<feature>") as 4 little-endian bytes, and "_ts:<view>"
  values = serialized feast.types.Value protobufs
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import feast  # noqa: F401 - declares the dependency: _value_module loads a module of this package by path

_STRING_TYPE = 2  # feast.types.ValueType.STRING


def entity_key_prefix(join_key: str) -> bytes:
    """What every single-key entity key starts with; the value and project follow (see `entity_key`)."""
    encoded = join_key.encode("utf8")
    return struct.pack("<III", 1, _STRING_TYPE, len(encoded)) + encoded + struct.pack("<I", _STRING_TYPE)


def entity_key(join_keys: Sequence[str], values: Sequence[str], *, project: str) -> bytes:
    """The Redis key of one entity (string ids, as all Riskloop ids are) in `project`, version 3."""
    pairs = list(zip(join_keys, values, strict=True))
    if len(pairs) > 1:
        pairs.sort()  # Feast sorts multi-key entities by join key
    out = [struct.pack("<I", len(pairs))]
    for key, _ in pairs:
        encoded = key.encode("utf8")
        out += [struct.pack("<I", _STRING_TYPE), struct.pack("<I", len(encoded)), encoded]
    for _, value in pairs:
        encoded = str(value).encode("utf8")
        out += [struct.pack("<I", _STRING_TYPE), struct.pack("<I", len(encoded)), encoded]
    return b"".join(out) + project.encode("utf8")


def _murmur3_32(data: bytes, seed: int = 0) -> int:
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed
    rounded = len(data) - len(data) % 4
    for i in range(0, rounded, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[rounded:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


@cache
def field_name(view: str, feature: str) -> bytes:
    """The hash field of one feature (Feast's `_mmh3(f"{view}:{feature}")`)."""
    return struct.pack("<I", _murmur3_32(f"{view}:{feature}".encode()))


@cache
def _value_module() -> ModuleType:
    # Feast's generated Value_pb2 needs only protobuf; load it by path so feast/__init__ never runs.
    name = "feast.protos.feast.types.Value_pb2"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("feast")
    if spec is None or spec.origin is None:
        raise ImportError("feast is not installed")
    path = Path(spec.origin).parent / "protos" / "feast" / "types" / "Value_pb2.py"
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def decode_value(raw: bytes | None) -> Any:
    """A stored feature value as Python (scalars as int/float/str/bool/bytes, lists as lists); None if
    absent or null."""
    if not raw:
        return None
    value = _value_module().Value()
    try:
        value.ParseFromString(raw)
    except Exception:  # noqa: BLE001 - a corrupt value is a missing value, not a failed score
        return None
    kind = value.WhichOneof("val")
    if kind is None or kind == "null_val":
        return None
    field = getattr(value, kind)
    if hasattr(field, "val"):  # list and set types wrap a repeated `val`
        return list(field.val)
    return field


# --- writing: feast.types.Value and google.protobuf.Timestamp, encoded by hand ---------------------------
# Field numbers of feast.types.Value's `val` oneof. A oneof member is serialized even when zero.
_BYTES, _STRING, _INT32, _INT64, _DOUBLE, _FLOAT, _BOOL = 1, 2, 3, 4, 5, 6, 7


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative ints are 10-byte two's complement varints
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return bytes([field << 3 | wire_type])


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(payload)) + payload


_INT64_TAG, _INT32_TAG, _BOOL_TAG = _tag(_INT64, 0), _tag(_INT32, 0), _tag(_BOOL, 0)
_DOUBLE_STRUCT, _FLOAT_STRUCT = struct.Struct("<d"), struct.Struct("<f")
_DOUBLE_TAG, _FLOAT_TAG = _tag(_DOUBLE, 1), _tag(_FLOAT, 5)


def value_encoder(arrow_type: Any) -> Any:
    """A function from a Python value (None for null) to serialized feast.types.Value bytes, for the
    Feast value type Feast itself uses for a column of `arrow_type` (a pyarrow DataType)."""
    import pyarrow as pa

    def nullable(encode: Any) -> Any:
        return lambda value: b"" if value is None else encode(value)

    if pa.types.is_boolean(arrow_type):
        return nullable(lambda v: _BOOL_TAG + (b"\x01" if v else b"\x00"))
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return nullable(lambda v: _INT64_TAG + _varint(int(v)))
    if pa.types.is_integer(arrow_type):
        return nullable(lambda v: _INT32_TAG + _varint(int(v)))
    if pa.types.is_float64(arrow_type):
        return nullable(lambda v: _DOUBLE_TAG + _DOUBLE_STRUCT.pack(v))
    if pa.types.is_floating(arrow_type):
        return nullable(lambda v: _FLOAT_TAG + _FLOAT_STRUCT.pack(v))
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return nullable(lambda v: _length_delimited(_STRING, v.encode("utf8")))
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return nullable(lambda v: _length_delimited(_BYTES, bytes(v)))
    raise TypeError(f"no Feast value encoding for {arrow_type}")


_SECONDS_TAG, _NANOS_TAG = _tag(1, 0), _tag(2, 0)


def encode_timestamp(micros: int) -> bytes:
    """A google.protobuf.Timestamp for `micros` since the epoch (what Feast stores under `_ts:<view>`)."""
    seconds, remainder = divmod(micros, 1_000_000)
    out = _SECONDS_TAG + _varint(seconds) if seconds else b""
    return out + (_NANOS_TAG + _varint(remainder * 1000) if remainder else b"")
