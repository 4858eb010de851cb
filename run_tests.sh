#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite.
#   ./run_tests.sh              all tests
#   ./run_tests.sh -m "not slow" extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
VENV="${MRCNN_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec "$VENV/bin/python" -m pytest "$@"
