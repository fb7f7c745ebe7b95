#!/usr/bin/env bash
# The README's test command: the Debian package of the real Fashion-MNIST
# files the tests load (offline, when apt-get can install it), then feed_mm
# with the pinned stack and the test requirements in the active Python
# environment, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q dataset-fashion-mnist >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; } \
        || echo "run_tests.sh: could not install dataset-fashion-mnist (root needed); its tests will fail" >&2
fi
python -m pip install -q --upgrade pip
python -m pip install -q -c requirements/constraints.txt -e ".[lite,tests]"
python -m pytest "$@"
