"""The shared field checks: what each accepts, and the one-line message naming the field."""

import dataclasses
import math

import numpy as np
import pytest

from jaxrl.checks import check_flags, check_non_negative, check_positive, check_positive_ints


@dataclasses.dataclass
class Fields:
    value: object


@pytest.mark.parametrize("good", [1, 7, 10**9])
def test_positive_ints_accepts_ints_from_one(good):
    check_positive_ints(Fields(good), ("value",))


@pytest.mark.parametrize("bad", [0, -3, 1.0, 2.5, True, np.bool_(True), "3", None])
def test_positive_ints_rejects_the_rest_naming_the_field(bad):
    with pytest.raises(ValueError, match=r"^value=.*: must be a positive integer\.$"):
        check_positive_ints(Fields(bad), ("value",))


def test_the_owner_prefixes_the_field():
    with pytest.raises(ValueError, match=r"^DQNConfig\.value=0: must be a positive integer\.$"):
        check_positive_ints(Fields(0), ("value",), owner="DQNConfig")


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (check_positive, [1e-9, 3, 2.5], [0, 0.0, -1, math.inf, math.nan, True, "1"]),
        (check_non_negative, [0, 0.0, 3, 2.5], [-1e-9, math.inf, math.nan, False, None]),
        (check_flags, [True, False], [1, 0, "yes", np.bool_(True), None]),
    ],
)
def test_numbers_and_flags(check, good, bad):
    for value in good:
        check(Fields(value), ("value",))
    for value in bad:
        with pytest.raises(ValueError, match=r"^value="):
            check(Fields(value), ("value",))
