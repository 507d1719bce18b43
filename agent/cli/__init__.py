"""The ``qagent`` command.

``qagent`` opens the TUI, ``qagent -p PROMPT`` runs headless, ``qagent SUBCOMMAND`` runs a
subcommand. Heavy imports happen inside commands so ``qagent --version`` stays instant.

Exit codes: 0 success, 1 task failed, 2 usage or config error, 3 no model reachable.
"""

from __future__ import annotations

import sys
from typing import Any

from agent.cli.exitcodes import ExitCode

SUBCOMMAND_MODULES = {
    "demo": "agent.cli.root",
    "route": "agent.cli.root",
    "doctor": "agent.cli.root",
    "map": "agent.cli.context",
    "pack": "agent.cli.context",
    "sessions": "agent.cli.history",
    "undo": "agent.cli.history",
    "init": "agent.cli.history",
    "batch": "agent.cli.batch",
    "batch-report": "agent.cli.batch",
}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        from agent._version import __version__

        print(f"qagent {__version__}")
        raise SystemExit(ExitCode.OK)
    if args and args[0] in SUBCOMMAND_MODULES:
        app = _subcommand_app(args[0])
        _run_typer(app, args)
    from agent.cli.root import root_app

    _run_typer(root_app(), args)


def _subcommand_app(name: str) -> Any:
    import importlib

    import typer

    app = typer.Typer(add_completion=False, no_args_is_help=True, help="qagent subcommands",
                      pretty_exceptions_enable=False)
    importlib.import_module(SUBCOMMAND_MODULES[name]).register(app)
    return app


def _run_typer(app: Any, args: list[str]) -> None:
    from agent.config import ConfigError

    try:
        app(args=args, prog_name="qagent", standalone_mode=True)
    except ConfigError as exc:
        print(f"qagent: configuration error:\n{exc}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE) from None
    except LookupError as exc:
        from agent.session import SessionNotFound

        if not isinstance(exc, SessionNotFound):
            raise
        print(f"qagent: {exc}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE) from None
    raise SystemExit(ExitCode.OK)


if __name__ == "__main__":
    main()
