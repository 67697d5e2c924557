from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _mmh3
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.type_map import feast_value_type_to_python_type
from google.protobuf.timestamp_pb2 import Timestamp  # pants: no-infer-dep (comes with feast)
from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop_features.online_layout import (
    decode_value,
    encode_timestamp,
    entity_key,
    entity_key_prefix,
    field_name,
    value_encoder,
)

_names = st.text(min_size=1, max_size=40)


@given(view=_names, feature=_names)
@settings(max_examples=300, deadline=None)
def test_field_names_are_feasts_murmur3(view: str, feature: str) -> None:
    assert field_name(view, feature) == _mmh3(f"{view}:{feature}")


@given(
    pairs=st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=30), min_size=1, max_size=3),
    project=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
)
@settings(max_examples=300, deadline=None)
def test_entity_keys_are_feasts_serialization_v3(pairs: dict[str, str], project: str) -> None:
    keys, values = list(pairs), list(pairs.values())
    proto = EntityKey(join_keys=keys, entity_values=[Value(string_val=v) for v in values])
    assert entity_key(keys, values, project=project) == serialize_entity_key(proto, 3) + project.encode()


@given(
    value=st.one_of(
        st.builds(lambda v: Value(int64_val=v), st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda v: Value(int32_val=v), st.integers(-(2**31), 2**31 - 1)),
        st.builds(lambda v: Value(double_val=v), st.floats(allow_nan=False)),
        st.builds(lambda v: Value(string_val=v), st.text()),
        st.builds(lambda v: Value(bool_val=v), st.booleans()),
        st.builds(lambda v: Value(bytes_val=v), st.binary()),
    )
)
@settings(max_examples=300, deadline=None)
def test_values_decode_like_feast(value: Value) -> None:
    assert decode_value(value.SerializeToString()) == feast_value_type_to_python_type(value)


def test_absent_and_empty_values_are_none() -> None:
    assert decode_value(None) is None
    assert decode_value(b"") is None
    assert decode_value(Value().SerializeToString()) is None


@given(key=st.text(min_size=1, max_size=20), value=st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_the_single_key_prefix_starts_the_entity_key(key: str, value: str) -> None:
    encoded = value.encode("utf8")
    built = entity_key_prefix(key) + len(encoded).to_bytes(4, "little") + encoded + b"proj"
    assert built == entity_key([key], [value], project="proj")


@given(
    case=st.one_of(
        st.tuples(st.just(pa.int64()), st.integers(-(2**63), 2**63 - 1), st.just("int64_val")),
        st.tuples(st.just(pa.int32()), st.integers(-(2**31), 2**31 - 1), st.just("int32_val")),
        st.tuples(st.just(pa.float64()), st.floats(allow_nan=False), st.just("double_val")),
        st.tuples(st.just(pa.float32()), st.floats(allow_nan=False, width=32), st.just("float_val")),
        st.tuples(st.just(pa.string()), st.text(), st.just("string_val")),
        st.tuples(st.just(pa.bool_()), st.booleans(), st.just("bool_val")),
        st.tuples(st.just(pa.binary()), st.binary(), st.just("bytes_val")),
    )
)
@settings(max_examples=500, deadline=None)
def test_values_encode_like_feasts_protobufs(case: tuple[pa.DataType, object, str]) -> None:
    arrow_type, value, field = case
    assert value_encoder(arrow_type)(value) == Value(**{field: value}).SerializeToString()
    assert value_encoder(arrow_type)(None) == Value().SerializeToString()


@given(moment=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
@settings(max_examples=300, deadline=None)
def test_timestamps_encode_like_protobufs(moment: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(moment)
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert encode_timestamp(micros) == expected.SerializeToString()
