"""``chainrule playground``: watch a real network learn in the browser, and click any weight
to see its chain rule."""

from __future__ import annotations

import webbrowser

__all__ = ["add_command", "run"]


def _port(text: str) -> int:
    import argparse

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {port}")
    return port


def add_command(subparsers) -> None:
    """Add ``playground`` to the ``chainrule`` command's subcommands."""
    parser = subparsers.add_parser(
        "playground", help="watch a network learn in the browser; click a weight for its "
                           "chain rule",
        description="Serve the playground on this machine (127.0.0.1) and print its URL. "
                    "Training runs in chainrule on this server; the page draws what it sends.")
    parser.add_argument("--port", type=_port, default=8000,
                        help="TCP port (default 8000; 0 picks a free one)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.set_defaults(run=run)


def run(args) -> None:
    from ..commands.common import CommandError
    from .server import PlaygroundServer

    try:
        server = PlaygroundServer(port=args.port)
    except OSError as error:
        raise CommandError(f"cannot listen on port {args.port} ({error.strerror}); "
                           "try --port 0 for a free one") from None
    print(f"chainrule playground: {server.url}  (Ctrl+C stops it)", flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    finally:
        server.stop()
