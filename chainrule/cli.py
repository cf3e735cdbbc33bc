"""The ``chainrule`` command: train, evaluate, predict, explain and generate from the shell.

Each subcommand is a module with ``add_command(subparsers)``, imported here by name: the
command's own (``chainrule.commands``) and those beside their feature (``explain.command``,
``text.command``). A feature adds its subcommand with one import below and one entry in
``_COMMANDS``. Errors (unknown dataset, wrong shapes, a missing or bad file) print one line and
exit with status 2, never a traceback (``--debug``, before or after the subcommand, shows it).
Every command runs NumPy's BLAS on one thread unless ``--threads N`` says otherwise: the
command's models are small, where more threads cost more than they save (measured in
``chainrule.backend.threads``).
"""

from __future__ import annotations

import argparse
import sys

from .backend.threads import set_num_threads
from .commands import cache, evaluate, predict, train
from .commands.common import positive_int
from .distributed import command as launch_command
from .distributed.world import abort_if_parallel
from .explain import command as explain_command
from .onnx import command as onnx_command
from .playground import command as playground_command
from .text import command as text_commands

__all__ = ["main", "build_parser"]

# In the order ``chainrule --help`` lists them.
_COMMANDS = (train, evaluate, predict, explain_command, text_commands, playground_command,
             onnx_command, launch_command, cache)
_THREADS_HELP = "threads of NumPy's BLAS (default 1: fastest for small models and shared machines)"


class _Parser(argparse.ArgumentParser):
    """argparse with the command's one-line errors: no usage block before the message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``chainrule`` argument parser with every subcommand added."""
    parser = _Parser(
        prog="chainrule", description="Train, evaluate and inspect neural networks with chainrule."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--threads", type=positive_int, default=1, help=_THREADS_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS:
        command.add_command(subparsers)
    for subparser in subparsers.choices.values():  # also after the subcommand's name
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="show tracebacks on errors")
        subparser.add_argument("--threads", type=positive_int, default=argparse.SUPPRESS,
                               help=_THREADS_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    set_num_threads(args.threads)
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one clear line for the user; --debug shows the traceback
        if args.debug:
            raise
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        abort_if_parallel(2)  # under mpirun the other ranks would wait for this one forever
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
