"""`python -m indexing …` — see `indexing.cli`."""

import sys

from indexing.cli import main

if __name__ == "__main__":
    sys.exit(main())
