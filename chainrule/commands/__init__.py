"""The ``chainrule`` command's own subcommands (``train``, ``evaluate``, ``predict``) and the
helpers every subcommand shares (``common``).

``chainrule.cli`` imports each subcommand module explicitly — these and those that live beside
their feature (``chainrule.explain.command``, ``chainrule.text.command``) — and calls its
``add_command(subparsers)``, which adds the parser and sets ``run=`` to a function of the parsed
arguments. Subcommand modules import only ``common`` from here, never ``chainrule.cli``, so the
imports form no circle.
"""
