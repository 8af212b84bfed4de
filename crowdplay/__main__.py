"""``python -m crowdplay`` runs the ``crowdplay`` command."""

import sys

from crowdplay.cli import main

sys.exit(main())
