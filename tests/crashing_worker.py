"""A stand-in probe worker that dies like a native runtime on a corrupt model (SIGSEGV)."""

import os
import signal
import sys

if __name__ == "__main__":
    for line in sys.stdin:
        os.kill(os.getpid(), signal.SIGSEGV)
