"""The `fedchain` typer app: node's own commands plus sub-apps other packages register.

`node` must not import `hospital`, `miner` or `diagnosis`, so their command groups are
found through the ``fedchain.cli`` entry-point group declared in pyproject.toml.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer
from rich.console import Console
from rich.markup import escape

from node.errors import FedchainError

app = typer.Typer(
    name="fedchain",
    help="Blockchain-backed federated diagnosis network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_err = Console(stderr=True)


def _register_plugins(root: typer.Typer) -> None:
    for ep in sorted(entry_points(group="fedchain.cli"), key=lambda e: e.name):
        sub = ep.load()
        if isinstance(sub, typer.Typer):
            root.add_typer(sub, name=ep.name)
        else:  # a plain function is a single command
            root.command(name=ep.name)(sub)


def main() -> None:
    """Console-script entry: run the app, turning fedchain errors into message + fix.

    Usage errors (unknown command or option, bad value) are printed by typer's own click in
    standalone mode with exit code 2; a FedchainError is printed as its message and fix.
    """
    _register_plugins(app)
    try:
        app()
    except FedchainError as exc:
        # escaped: a message or fix may hold brackets (`pip install 'fedchain[heart]'`)
        _err.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.fix:
            _err.print(f"[bold]fix:[/] {escape(exc.fix)}")
        sys.exit(2)


if __name__ == "__main__":
    main()
