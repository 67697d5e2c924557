"""Feast's Redis online-store layout, without importing `feast`: importing it costs 5-10 s of start-up
per worker (its __init__ pulls in every offline store). `layout_test.py` checks every function here
against Feast's own implementation.

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
from typing import Any

_STRING_TYPE = 2  # feast.types.ValueType.STRING


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
