import os
import sys

from bot.cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # output piped to `head` and closed early
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)
