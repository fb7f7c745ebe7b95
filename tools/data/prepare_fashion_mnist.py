"""Put Fashion-MNIST in place for the configs: decompress the four IDX files
of the Debian package ``dataset-fashion-mnist`` (installed first when it is
missing) into data/fashion_mnist/. Idempotent: complete files are kept.

    python tools/data/prepare_fashion_mnist.py
    python tools/data/prepare_fashion_mnist.py --source DIR_OF_GZ_FILES
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess

from feed_mm.apis.cli import run_cli
from feed_mm.datasets import prepare_fashion_mnist
from feed_mm.datasets.prepare_fashion_mnist import (DEBIAN_DIR,
                                                    DEBIAN_PACKAGE)


def install_debian_package() -> None:
    """``apt-get install`` the package (``apt-get update`` first when the
    local package lists do not know it)."""
    if shutil.which('apt-get') is None or os.geteuid() != 0:
        raise SystemExit(
            f'error: {DEBIAN_DIR} is missing; as root run: apt-get install '
            f'-y {DEBIAN_PACKAGE} (or pass --source DIR_OF_GZ_FILES)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    install = ['apt-get', 'install', '-y', DEBIAN_PACKAGE]
    if subprocess.run(install, env=env).returncode:
        subprocess.run(['apt-get', 'update'], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/fashion_mnist',
                        help='destination folder (default: %(default)s)')
    parser.add_argument('--source', default=None,
                        help='folder of the four *.gz IDX files (default: '
                        'the Debian package)')
    parser.add_argument('--no-install', action='store_true',
                        help='do not apt-get install the Debian package')
    args = parser.parse_args()
    if args.source is None and not osp.isdir(DEBIAN_DIR) \
            and not args.no_install:
        install_debian_package()
    written = prepare_fashion_mnist(args.data_root, args.source)
    print(f'{len(written)} file(s) written, Fashion-MNIST ready in '
          f'{args.data_root}')


if __name__ == '__main__':
    run_cli(main)
