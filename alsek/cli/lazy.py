"""A click group whose commands are imported only when they are run (or listed by ``--help``).

A worker launch (``alsek thread-pool ...``) then does not import the admin, registry and
dashboard commands and what they need: every launch starts that much sooner.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """A :class:`click.Group` that also knows commands by where they live.

    Args:
        lazy: command name -> ``"module:attribute"`` of the :class:`click.Command`.
        **kwargs: as for :class:`click.Group`.
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The eager commands and the lazy ones, sorted by name."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing it on first use.

        Raises:
            TypeError: if a lazy entry does not name a click command (a packaging error).
        """
        if cmd_name not in self.lazy or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = self.lazy[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        self.add_command(command, cmd_name)
        return command
