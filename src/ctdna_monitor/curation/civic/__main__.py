"""`python -m ctdna_monitor.curation.civic`: the import-civic command on its own."""

import sys

from . import main

sys.exit(main())
