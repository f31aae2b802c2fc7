"""The `ipcsim` command: subcommands run headless; no subcommand opens the window.

Qt is imported only when a window is wanted, so headless subcommands work without a display.
"""

from __future__ import annotations

import sys

from simulator import cli

from . import picture_cli


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in picture_cli.COMMANDS:
        return picture_cli.main(argv)
    if cli.is_command(argv):
        return cli.main(argv)
    from ui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
