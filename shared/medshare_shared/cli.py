"""The one `medshare` command line.

Each service package registers its own command group under the `medshare.commands`
entry-point group, so this dispatcher knows nothing about any one service.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click


class ServiceCommands(click.Group):
    """A click group whose subcommands are discovered from installed packages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Names only: loading every service here would import torch for `--help`.
        discovered = {entry.name for entry in entry_points(group="medshare.commands")}
        return sorted(set(super().list_commands(ctx)) | discovered)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        entry = next(iter(entry_points(group="medshare.commands", name=cmd_name)), None)
        return entry.load() if entry is not None else None


@click.group(cls=ServiceCommands)
def main() -> None:
    """medshare: de-identify hospital records and share them with researchers."""
