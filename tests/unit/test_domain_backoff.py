"""Backoff policies: examples and Hypothesis properties of alsek.domain.model.backoff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.domain.model.backoff import (
    NO_BACKOFF,
    Backoff,
    ConstantBackoff,
    ExponentialBackoff,
    LinearBackoff,
    backoff_or_default,
    settings2backoff,
    settings_to_backoff,
)
from alsek.domain.model.errors import ValidationError

MS = st.integers(min_value=0, max_value=10**9)
OPTIONAL_MS = st.none() | MS
INCIDENTS = st.integers(min_value=0, max_value=200)


@st.composite
def bounds(draw: st.DrawFn) -> dict[str, int | None]:
    """``floor`` and ``ceiling`` that are valid together."""
    floor, ceiling = draw(OPTIONAL_MS), draw(OPTIONAL_MS)
    if floor is not None and ceiling is not None and floor > ceiling:
        floor, ceiling = ceiling, floor
    return {"floor": floor, "ceiling": ceiling, "zero_override": draw(st.booleans())}


def constants() -> st.SearchStrategy[Backoff]:
    return st.builds(lambda b, c: ConstantBackoff(constant=c, **b), bounds(), MS)


def linears() -> st.SearchStrategy[Backoff]:
    return st.builds(lambda b, f: LinearBackoff(factor=f, **b), bounds(), MS)


def exponentials(min_base: int = 1) -> st.SearchStrategy[Backoff]:
    bases = st.integers(min_value=min_base, max_value=10)
    factors = st.integers(min_value=0, max_value=10**6)
    return st.builds(
        lambda b, base, f: ExponentialBackoff(base=base, factor=f, **b), bounds(), bases, factors
    )


ANY_POLICY = constants() | linears() | exponentials()


# -- properties -----------------------------------------------------------------------------------


@given(linears() | exponentials(), INCIDENTS, INCIDENTS)
def test_linear_and_exponential_never_shrink_as_incidents_grow(policy, a, b):
    low, high = sorted((a, b))
    assert policy.get(low) <= policy.get(high)


@given(ANY_POLICY, INCIDENTS)
def test_backoff_stays_within_floor_and_ceiling(policy, incidents):
    value = policy.get(incidents)
    assert isinstance(value, int)
    if policy.zero_override and incidents == 0:
        assert value == 0
        return
    if policy.floor is not None:
        assert value >= policy.floor
    if policy.ceiling is not None:
        assert value <= policy.ceiling


@given(ANY_POLICY)
def test_zero_override_means_no_wait_before_the_first_incident(policy):
    if policy.zero_override:
        assert policy.get(0) == 0


@given(ANY_POLICY, INCIDENTS)
def test_without_bounds_the_formula_is_the_backoff(policy, incidents):
    if (policy.floor is None and policy.ceiling is None) and not (
        policy.zero_override and incidents == 0
    ):
        assert policy.get(incidents) == policy.formula(incidents)


@given(ANY_POLICY)
def test_settings_round_trip(policy):
    rebuilt = settings_to_backoff(policy.settings)
    assert type(rebuilt) is type(policy)
    assert rebuilt == policy
    assert rebuilt.settings == policy.settings


@given(INCIDENTS)
def test_no_backoff_is_always_zero(incidents):
    assert NO_BACKOFF.get(incidents) == 0


@given(st.integers(min_value=2, max_value=10), st.integers(min_value=1, max_value=10**6))
def test_exponential_with_a_ceiling_is_cheap_for_huge_incident_counts(base, factor):
    policy = ExponentialBackoff(base=base, factor=factor, floor=0, ceiling=3_600_000)
    assert policy.get(10**9) == 3_600_000


# -- examples -------------------------------------------------------------------------------------


def test_formulas():
    assert ConstantBackoff(constant=5, floor=None, ceiling=None).get(7) == 5
    assert LinearBackoff(factor=30, floor=None, ceiling=None).get(3) == 90
    assert ExponentialBackoff(base=2, factor=10, floor=None, ceiling=None).get(3) == 80


def test_defaults():
    policy = ExponentialBackoff()
    assert policy.settings == {
        "algorithm": "ExponentialBackoff",
        "parameters": {
            "base": 4,
            "factor": 10_000,
            "floor": 60_000,
            "ceiling": 3_600_000,
            "zero_override": True,
        },
    }
    assert [policy.get(i) for i in range(5)] == [0, 60_000, 160_000, 640_000, 2_560_000]
    assert policy.get(6) == 3_600_000


def test_tour_equivalence_of_none_and_no_backoff():
    assert backoff_or_default(None) is NO_BACKOFF
    assert ConstantBackoff(constant=0, floor=0, ceiling=0, zero_override=True) == NO_BACKOFF
    policy = LinearBackoff()
    assert backoff_or_default(policy) is policy


@pytest.mark.parametrize(
    "build",
    [
        lambda: ConstantBackoff(constant=-1),
        lambda: LinearBackoff(factor=1.5),
        lambda: ExponentialBackoff(base=True),
        lambda: ConstantBackoff(floor=-1),
        lambda: ConstantBackoff(ceiling="1"),
        lambda: ConstantBackoff(floor=10, ceiling=9),
    ],
)
def test_invalid_parameters_raise(build):
    with pytest.raises(ValidationError):
        build()


@pytest.mark.parametrize(
    "settings",
    [
        {"algorithm": "Nope", "parameters": {}},
        {"algorithm": "LinearBackoff", "parameters": {"base": 2}},
        {"algorithm": "LinearBackoff"},
        {"parameters": {}},
        {"algorithm": "ConstantBackoff", "parameters": {"floor": 5, "ceiling": 1}},
    ],
)
def test_invalid_settings_raise(settings):
    with pytest.raises(ValidationError):
        settings_to_backoff(settings)


def test_exponential_with_base_zero_is_not_accepted():
    with pytest.raises(ValidationError):
        ExponentialBackoff(base=0, zero_override=False, floor=None, ceiling=None)


# -- Alsek 1.3.2 compatibility and the tour's shared parameters -----------------------------------


@pytest.mark.parametrize("policy", [ConstantBackoff(), LinearBackoff(), ExponentialBackoff()])
def test_every_policy_carries_the_tours_shared_parameters_and_defaults(policy):
    parameters = policy.settings["parameters"]
    assert {k: parameters[k] for k in ("floor", "ceiling", "zero_override")} == {
        "floor": 60_000,
        "ceiling": 3_600_000,
        "zero_override": True,
    }


def test_default_waits_are_alsek_1_3_2s():
    assert [ConstantBackoff(30_000).get(i) for i in range(3)] == [0, 60_000, 60_000]
    assert [LinearBackoff().get(i) for i in range(4)] == [0, 60_000, 60_000, 90_000]
    assert ConstantBackoff(30_000, floor=0).get(1) == 30_000


def test_first_parameters_are_positional():
    assert LinearBackoff(5_000, floor=0).parameters["factor"] == 5_000
    assert ExponentialBackoff(2, 100) == ExponentialBackoff(base=2, factor=100)


class HalvingBackoff(Backoff):
    """A subclass written the Alsek 1.3.2 way: plain ``__init__``, ``parameters``, ``formula``."""

    def __init__(self, start: int = 1_000, **kwargs):
        super().__init__(**kwargs)
        self.start = start

    @property
    def parameters(self):
        return dict(start=self.start, floor=self.floor, ceiling=self.ceiling,
                    zero_override=self.zero_override)  # fmt: skip

    def formula(self, incidents):
        return self.start // 2**incidents


def test_user_subclasses_round_trip_by_class_name():
    policy = HalvingBackoff(8_000, floor=0)
    assert policy.settings["algorithm"] == "HalvingBackoff"
    rebuilt = settings2backoff(policy.settings)
    assert type(rebuilt) is HalvingBackoff and rebuilt == policy
    assert rebuilt.get(2) == 2_000


def test_unknown_algorithm_names_the_problem():
    with pytest.raises(ValidationError, match="no backoff algorithm named 'Nope'"):
        settings_to_backoff({"algorithm": "Nope", "parameters": {}})
