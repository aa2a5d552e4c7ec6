"""``python -m hmm_core`` runs the command line."""

import sys

from hmm_core.cli.commands import main

sys.exit(main())
