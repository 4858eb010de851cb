"""``python -m mrcnn``: the ``mrcnn`` command line (:mod:`mrcnn.cli`)."""
import sys

from mrcnn.cli import main

sys.exit(main())
