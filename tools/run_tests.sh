#!/usr/bin/env bash
# The README's test command: install feed_mm with the pinned stack and the
# test requirements into the active Python environment, then run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip
python -m pip install -q -c requirements/constraints.txt -e ".[lite,tests]"
python -m pytest "$@"
