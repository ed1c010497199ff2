"""``python -m bench <command> [hydra overrides]``.

Each command is a module ``bench/commands/<command>.py`` with a ``main(argv) -> int`` function and a one-line
``SUMMARY``; adding a command means adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench.commands as commands_pkg
from core.errors import BenchError


def available_commands() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules(commands_pkg.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"bench.commands.{info.name}")
            found[info.name] = getattr(module, "SUMMARY", "")
    return found


def usage() -> str:
    lines = ["usage: python -m bench <command> [key=value ...]", "", "commands:"]
    lines += [f"  {name:<10} {summary}" for name, summary in sorted(available_commands().items())]
    lines += ["", "`python -m bench <command> --help` shows a command's options (Hydra's help for run/tune)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    names = available_commands()
    if command not in names:
        print(f"error: unknown command {command!r}; valid commands: {', '.join(sorted(names))}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.commands.{command}")
    try:
        return int(module.main(rest) or 0)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
