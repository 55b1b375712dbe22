"""``python -m vqi_core``: the command-line interface."""

import signal
import sys
import warnings


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# SIGTERM (timeout, systemd, a CI runner) while torch and OpenCV are still loading ends the command as Ctrl+C
# does; once a command runs, the command line handles it the same way (found by review: status 143, no message)
if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:  # one the caller chose to ignore stays ignored
    signal.signal(signal.SIGTERM, _interrupt)
try:
    from PIL import Image

    from .cli import main
except KeyboardInterrupt:  # Ctrl+C while torch and OpenCV are still loading: no command has started
    print("interrupted: nothing was done", file=sys.stderr)
    raise SystemExit(130)

# an image of 89-179 megapixels: VQI names it with its own limit (64 megapixels) and the reason; Pillow's warning
# would add two lines of its source code to the command's output
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

status = main()
# the command is done and has said so: Ctrl+C or SIGTERM while the interpreter exits (atexit handlers of torch and
# others) would only add a traceback or end the process by the signal instead of with its status
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
raise SystemExit(status)
