# Sourced by run_demo.sh and run_tests.sh: create the virtual environment once and install the
# project into it (editable), with the extras named in $MRCNN_EXTRAS (e.g. "test").
VENV="${MRCNN_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".${MRCNN_EXTRAS:+[$MRCNN_EXTRAS]}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
