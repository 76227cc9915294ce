"""`python -m qa` is the `qa` command."""
import sys

from qa.cli.main import main

sys.exit(main())
