"""Settings for the whole test session."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Timing belongs to the benchmark, not to tests: no per-example deadline, and on a busy 2-core
# machine Hypothesis' "too slow" health check would only add noise. In CI the examples are
# derandomized, so a run is reproducible from its log.
settings.register_profile(
    "alsek",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI", "").lower() == "true",
    print_blob=True,
)
settings.load_profile("alsek")
