"""``python -m bench.cli``: the ``bench`` command without its console script."""
import sys

from bench.cli.main import main

sys.exit(main())
