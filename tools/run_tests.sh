#!/usr/bin/env bash
# The README's test command: feed_mm with the pinned stack and the test
# requirements in the active Python environment, the real Fashion-MNIST
# files the tests load (tools/data/prepare_fashion_mnist.py: installs the
# Debian package when it is missing, as root), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip
python -m pip install -q -c requirements/constraints.txt -e ".[lite,tests]"
python tools/data/prepare_fashion_mnist.py \
    || echo "run_tests.sh: Fashion-MNIST is not in place; its tests will fail" >&2
python -m pytest "$@"
