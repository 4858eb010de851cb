#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite.
#   ./run_tests.sh              all tests
#   ./run_tests.sh -m "not slow" extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
MRCNN_EXTRAS=test
source scripts/venv.sh
exec "$VENV/bin/python" -m pytest "$@"
