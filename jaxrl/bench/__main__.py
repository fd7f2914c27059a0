"""`python -m jaxrl.bench ...`, the same as `jaxrl bench ...`."""

import sys

from jaxrl.bench.cli import main

sys.exit(main())
