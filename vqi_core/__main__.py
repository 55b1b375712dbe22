"""``python -m vqi_core``: the command-line interface."""

import signal
import sys


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# SIGTERM (timeout, systemd, a CI runner) while torch and OpenCV are still loading ends the command as Ctrl+C
# does; once a command runs, the command line handles it the same way (found by review: status 143, no message)
if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:  # one the caller chose to ignore stays ignored
    signal.signal(signal.SIGTERM, _interrupt)
try:
    from .cli import main
    from .features import hide_torchscript_deprecations
    from .images import hide_pillow_warnings
except KeyboardInterrupt:  # Ctrl+C while torch and OpenCV are still loading: no command has started
    print("interrupted: nothing was done", file=sys.stderr)
    raise SystemExit(130)

hide_pillow_warnings()  # VQI names each image it cannot read; Pillow's warnings name no file
hide_torchscript_deprecations()  # VQI traces its backbones by design

status = main()
# the command is done and has said so: Ctrl+C or SIGTERM while the interpreter exits (atexit handlers of torch and
# others) would only add a traceback or end the process by the signal instead of with its status
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
raise SystemExit(status)
