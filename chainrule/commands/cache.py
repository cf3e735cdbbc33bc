"""``chainrule cache``: what chainrule keeps in its cache folder (downloads, synthesised data)
and how big it is; ``--clear`` deletes what chainrule wrote there."""

from __future__ import annotations

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    """Add ``cache`` to the ``chainrule`` command's subcommands."""
    parser = subparsers.add_parser(
        "cache", help="list (or --clear) the downloaded and synthesised data chainrule keeps",
        description="The cache folder is $CHAINRULE_DATA when set, else ~/.cache/chainrule.")
    parser.add_argument("--clear", action="store_true",
                        help="delete what chainrule wrote there (Fashion-MNIST downloads, "
                             "synthesised spoken digits); it is made again when needed")
    parser.set_defaults(run=run)


def run(args) -> None:
    """Print the cache folder's entries and sizes, or clear it."""
    from ..datasets import cache

    folder = cache.cache_folder()
    if args.clear:
        removed = cache.clear()
        for name, size in removed:
            print(f"removed {folder / name} ({cache.format_size(size)})")
        if not removed:
            print(f"nothing to clear in {folder}")
        return
    listed = cache.entries()
    total = sum(size for _, size in listed)
    print(f"{folder}: {cache.format_size(total)}" + ("" if listed else " (empty)"))
    for name, size in listed:
        kept = "" if name in cache.WRITTEN else "  (not chainrule's: --clear keeps it)"
        print(f"  {name:<20} {cache.format_size(size):>10}{kept}")
