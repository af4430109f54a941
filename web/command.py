"""`videofactory web`: the dashboard's subcommand, which the engine's CLI finds through an entry point."""

from __future__ import annotations

import argparse
import sys

from engine.config import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the dashboard until interrupted."""
    from web.app import exposure_warning, serve  # FastAPI and uvicorn are loaded only when the dashboard runs

    warning = exposure_warning(settings, args.host)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    serve(settings, args.host, args.port)
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add `web` to the CLI's subcommands."""
    web = commands.add_parser("web", help="serve the web dashboard (log in with /dashboard in the bot, "
                                          "or VF_WEB_PASSWORD)")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    web.set_defaults(handler=run)
