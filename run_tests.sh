#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite.
#   ./run_tests.sh              all tests
#   ./run_tests.sh -m "not slow" extra arguments go to pytest
#   ./run_tests.sh -n 0 tests/core   one process (the default runs one per core, up to 4)
set -euo pipefail
cd "$(dirname "$0")"
MRCNN_EXTRAS=test
source scripts/venv.sh
# The evaluation report's browser test opens the page in headless Chromium (Debian's packages
# chromium and chromium-driver): install them when missing and apt-get can (root or sudo);
# otherwise say so and go on (that test then skips).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then SUDO=""
    elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"
    else SUDO="none"; fi
    if [ "$SUDO" = none ]; then
        echo "run_tests.sh: chromium/chromedriver missing and apt-get not usable here (needs" \
             "root or sudo); the report's browser test will skip"
    else
        echo "run_tests.sh: installing chromium and chromium-driver (the report's browser test)"
        export DEBIAN_FRONTEND=noninteractive
        if ! { $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
               || { $SUDO apt-get update -q >/dev/null 2>&1 \
                    && $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; }
        then
            echo "run_tests.sh: could not install chromium chromium-driver with apt-get; the" \
                 "report's browser test will skip"
        fi
    fi
fi
# Lint first (rules in pyproject.toml, [tool.ruff]); a finding fails the run before the tests.
if ! "$VENV/bin/python" -m ruff check .; then
    echo "run_tests.sh: ruff check failed: fix the findings above (many: ruff check --fix .)" >&2
    exit 1
fi
# Tests run in parallel processes (pytest-xdist), one per core up to 4 (each loads TensorFlow:
# about 1.5 GB); MRCNN_TEST_WORKERS overrides, and "-n 0" among the arguments runs in one process.
WORKERS="${MRCNN_TEST_WORKERS:-$("$VENV/bin/python" -c \
    'import os; print(max(1, min(4, len(os.sched_getaffinity(0)))))')}"
exec "$VENV/bin/python" -m pytest -n "$WORKERS" --dist worksteal "$@"
