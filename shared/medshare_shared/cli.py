"""The one `medshare` command line.

Each service package registers its own command group under the `medshare.commands`
entry-point group, so this dispatcher knows nothing about any one service. Nothing is
imported before a command runs: `medshare --help` lists names from the entry points
and the groups below load a subcommand's module only when it is chosen, so that
starting a command never pays for torch or scikit-learn it does not use.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import click


class ServiceCommands(click.Group):
    """A click group whose subcommands are discovered from installed packages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        discovered = {entry.name for entry in entry_points(group="medshare.commands")}
        return sorted(set(super().list_commands(ctx)) | discovered)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        entry = next(iter(entry_points(group="medshare.commands", name=cmd_name)), None)
        return entry.load() if entry is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Names and their packages only: loading a command for its help line would
        # import its whole service (torch for the inference commands).
        rows = [(entry.name, entry.dist.metadata["Summary"] if entry.dist else "")
                for entry in entry_points(group="medshare.commands")]  # fmt: skip
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


class LazyGroup(click.Group):
    """A group whose subcommands, given as "module:attribute", are imported on use."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy  # name -> (target "module:attribute", short help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = self.lazy[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(self.lazy.items())]
        rows += [(name, command.get_short_help_str()) for name, command in self.commands.items()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


@click.group(cls=ServiceCommands)
def main() -> None:
    """medshare: de-identify hospital records and share them with researchers."""
