"""``python -m vqi_core``: the command-line interface."""

import signal
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl+C while torch and OpenCV are still loading: no command has started
    print("interrupted: nothing was done", file=sys.stderr)
    raise SystemExit(130)

status = main()
# the command is done and has said so: Ctrl+C while the interpreter exits (atexit handlers of torch and others)
# would only add a traceback or end the process by the signal instead of with its status
signal.signal(signal.SIGINT, signal.SIG_IGN)
raise SystemExit(status)
