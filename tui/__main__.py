"""``python -m tui``: the app's commands without the ``switchboard`` console script."""

import sys

from tui.cli import main

sys.exit(main())
