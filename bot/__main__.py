"""`python -m bot` is `licensebot`."""

import sys

from bot.cli import main

sys.exit(main())
