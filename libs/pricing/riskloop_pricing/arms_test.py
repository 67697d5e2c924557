from __future__ import annotations

import pytest

from riskloop_pricing.arms import InvalidGuards, PriceArms, PriceGuards, UnknownArm, arm_label


def test_arms_outside_the_guards_are_clipped_to_them_and_deduplicated() -> None:
    arms = PriceArms.build([0.5, 0.8, 1.0, 1.5, 2.0], PriceGuards(0.8, 1.5))
    assert arms.multipliers == (0.8, 1.0, 1.5)


def test_arms_are_sorted_and_labelled_the_same_way_everywhere() -> None:
    arms = PriceArms.build([1.25, 0.9, 1.0], PriceGuards(0.8, 1.5))
    assert arms.labels == ("0.9", "1", "1.25")
    assert arm_label(1.0) == "1"


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (1.2, 1.1), (-1.0, 1.0), (float("nan"), 1.0)])
def test_guards_that_leave_no_valid_band_are_refused(low: float, high: float) -> None:
    with pytest.raises(InvalidGuards):
        PriceGuards(low, high)


def test_no_positive_multiplier_is_refused() -> None:
    with pytest.raises(InvalidGuards):
        PriceArms.build([0.0, -1.0], PriceGuards(0.8, 1.5))


def test_an_arm_is_found_despite_json_float_noise() -> None:
    arms = PriceArms.build([0.8, 1.1], PriceGuards(0.8, 1.5))
    assert arms.find(1.1000000000000001) == 1.1


def test_a_multiplier_never_offered_is_an_unknown_arm_naming_the_offered_ones() -> None:
    arms = PriceArms.build([0.8, 1.1], PriceGuards(0.8, 1.5))
    with pytest.raises(UnknownArm, match="0.8, 1.1"):
        arms.find(1.2)
