"""``python -m vqi_core``: the command-line interface."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl+C while torch and OpenCV are still loading: no command has started
    print("interrupted: nothing was done", file=sys.stderr)
    raise SystemExit(130)

raise SystemExit(main())
