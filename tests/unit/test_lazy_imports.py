"""What a worker launch imports: the operators' commands load only when used, and still work
when they are; the Lua scripts assemble the same from parsed sections."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from alsek.adapters.redis import scripts
from alsek.cli.lazy import LazyGroup
from alsek.cli.main import main

OPERATOR_COMMANDS = ("dashboard", "dead-letters", "message", "purge", "queues", "revoke", "workers")
#: Modules a worker launch has no use for.
NOT_FOR_WORKERS = (
    "alsek.cli.admin",
    "alsek.cli.dashboard",
    "alsek.cli.dead_letters",
    "alsek.cli.workers",
)
SUBPROCESS_TIMEOUT_S = 120


def test_a_worker_launch_does_not_import_the_operator_commands() -> None:
    code = (
        "import sys, alsek.cli.main\n"
        f"print(sorted(m for m in sys.modules if m.startswith({NOT_FOR_WORKERS!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_help_lists_every_command_lazy_or_not() -> None:
    output = CliRunner().invoke(main, ["--help"]).output
    for name in (*OPERATOR_COMMANDS, "thread-pool", "process-pool"):
        assert f"  {name} " in output


@pytest.mark.parametrize("name", OPERATOR_COMMANDS)
def test_each_lazy_command_loads_and_runs(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: main {name}" in result.output


def test_an_unknown_command_is_still_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_a_lazy_entry_that_is_not_a_command_is_refused_by_name() -> None:
    group = LazyGroup(lazy={"odd": "alsek.cli.lazy:LazyGroup"})
    with pytest.raises(TypeError, match="alsek.cli.lazy:LazyGroup is not a click command"):
        group.get_command(click.Context(group), "odd")


def test_a_lazy_command_is_imported_once() -> None:
    group = LazyGroup(lazy={"workers": "alsek.cli.workers:workers"})
    context = click.Context(group)
    first = group.get_command(context, "workers")
    assert first is not None and group.get_command(context, "workers") is first
    assert group.list_commands(context) == ["workers"]


def test_scripts_assemble_the_same_from_text_or_parsed_sections() -> None:
    texts = scripts._sources(("lib", *scripts.NAMES))
    sections = scripts._sections(texts["lib"])
    for name in scripts.NAMES:
        assert scripts.assemble(sections, texts[name]) == scripts.assemble(
            texts["lib"], texts[name]
        )
    loaded = scripts.ScriptSet().scripts
    assert {name: s.source for name, s in loaded.items()} == {
        name: scripts.assemble(texts["lib"], texts[name]) for name in scripts.NAMES
    }
