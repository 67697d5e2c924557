"""The command-line frame every Riskloop app shares: settings built once at entry, a `config` command
that shows them, and the app's own commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console

from riskloop_config.report import settings_table
from riskloop_config.settings import RiskloopSettings, settings_or_exit


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[RiskloopSettings, argparse.Namespace], int]
    # Adds the command's own arguments to its sub-parser.
    configure: Callable[[argparse.ArgumentParser], None] = _no_arguments


def _show_config(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    Console().print(settings_table(settings))
    return 0


def run_app(prog: str, description: str, commands: dict[str, Command], argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, build the settings (a bad variable exits with status 2 and one message), run."""
    all_commands = {
        "config": Command("print the settings this process resolves, secrets masked", _show_config),
        **commands,
    }
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog="Settings come from ENVIRONMENT=local|compose|production and RISKLOOP_<SECTION>__<FIELD> variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in all_commands.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    return all_commands[args.command].run(settings, args)
