"""Best-of-K: fold repeated measurements of one system into one result.

Rates take the highest run, latencies the run with the lowest p50, so a burst of
load from elsewhere on the machine during one round does not decide the table.
"""

from __future__ import annotations

import copy


def best_of(runs: list[dict]) -> dict:
    """One result per system from ``runs`` (same system, several rounds)."""
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return runs[0]
    merged = copy.deepcopy(ok[0])
    merged["rounds"] = len(ok)
    for config in merged.get("configs", {}):
        candidates = [r["configs"][config] for r in ok if "rate" in r["configs"].get(config, {})]
        if not candidates:
            continue
        best = copy.deepcopy(max(candidates, key=lambda c: c["rate"]))
        best["enqueue_rate"] = max(c["enqueue_rate"] for c in candidates)
        best["incr_rate"] = max(c.get("incr_rate") or 0 for c in candidates) or None
        latencies = [c["latency"] for c in candidates if c.get("latency", {}).get("samples")]
        if latencies:
            best["latency"] = min(latencies, key=lambda lat: lat["p50_ms"])
        merged["configs"][config] = best
    floors = [r["fork_floor"] for r in ok if r.get("fork_floor")]
    if floors:
        merged["fork_floor"] = max(floors)
    batch = [r["enqueue_batch_rate"] for r in ok if r.get("enqueue_batch_rate")]
    if batch:
        merged["enqueue_batch_rate"] = max(batch)
    return merged
