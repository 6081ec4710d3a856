"""docs/migration.md: every row of its tables has a known status, and every difference that is not
the tour's, and every name not offered, says why."""

from __future__ import annotations

from pathlib import Path

STATUSES = ("same", "differs (tour)", "differs (ours)", "no effect", "added", "not offered")
DOC = Path(__file__).parents[2] / "docs" / "migration.md"


def _rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        if line.startswith("|") and not line.startswith(("|---", "| 1.3.2 ")):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_every_row_has_a_known_status_and_gaps_say_why() -> None:
    rows = _rows()
    assert len(rows) > 100
    for row in rows:
        status = row[-1]
        assert status.startswith(STATUSES), row
        if status.startswith(("differs (ours)", "not offered")):
            assert ":" in status or "none" in row[1] or "issue" in row[1], row
