"""``python -m vqi_core``: the command-line interface."""

from .cli import main

raise SystemExit(main())
