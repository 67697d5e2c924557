from __future__ import annotations

import numpy as np

from riskloop_simulation.identifiers import fixed_width_ids, hashed_ids, ipv4_strings


def test_fixed_width_ids_are_zero_padded_decimal() -> None:
    numbers = np.array([0, 7, 123456, 99_999_999_999_999])
    assert fixed_width_ids("t_", numbers, 14).to_pylist() == [
        "t_00000000000000",
        "t_00000000000007",
        "t_00000000123456",
        "t_99999999999999",
    ]
    assert fixed_width_ids("u_", np.array([5, 42]), 6).to_pylist() == ["u_000005", "u_000042"]
    assert fixed_width_ids("u_", np.array([], dtype=np.int64), 6).to_pylist() == []


def test_hashed_ids_are_stable_distinct_and_salted() -> None:
    numbers = np.arange(10_000)
    first = hashed_ids("c_", numbers, salt=1).to_pylist()
    assert first == hashed_ids("c_", numbers, salt=1).to_pylist()
    assert len(set(first)) == len(first)
    assert first != hashed_ids("c_", numbers, salt=2).to_pylist()


def test_ipv4_strings_render_dotted_quads() -> None:
    assert ipv4_strings(np.array([0x0A000001, 0xC0A80164, 0xFFFFFFFF], dtype=np.uint32)).to_pylist() == [
        "10.0.0.1",
        "192.168.1.100",
        "255.255.255.255",
    ]
