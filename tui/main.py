"""The ``slmops`` console script: a command runs headless, no command opens the app."""

from __future__ import annotations

import argparse
import sys


def launch(args: argparse.Namespace) -> int:
    # Imported here so that headless commands never pay for Textual.
    from tui.app import SlmopsApp

    app = SlmopsApp(profile_arg=args.profile)
    app.run()
    return app.return_code or 0


def main() -> None:
    from engine.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:], launch_tui=launch))


if __name__ == "__main__":
    main()
