"""Put Fashion-MNIST's IDX files in place from the Debian package
``dataset-fashion-mnist`` (the offline source on this project's machines)."""
import gzip
import os
import os.path as osp
import shutil
import subprocess
from typing import Callable, List, Optional

from .fashion_mnist import FILES

DEBIAN_PACKAGE = 'dataset-fashion-mnist'
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'


def _is_complete(path: str, gz_path: str) -> bool:
    """Whether ``path`` is the full decompression of ``gz_path``: gzip keeps
    the uncompressed size (mod 2**32) in its last four bytes."""
    if not osp.isfile(path):
        return False
    with open(gz_path, 'rb') as f:
        f.seek(-4, os.SEEK_END)
        size = int.from_bytes(f.read(4), 'little')
    return osp.getsize(path) % 2**32 == size


def install_debian_package(run: Callable = subprocess.run) -> None:
    """``apt-get install`` the package (``apt-get update`` first when the
    package is unknown to the local lists)."""
    if shutil.which('apt-get') is None:
        raise RuntimeError(
            f'{DEBIAN_DIR} is missing and apt-get is not available: install '
            f'the Debian package {DEBIAN_PACKAGE}, or download the four '
            'Fashion-MNIST IDX files and pass --source')
    if hasattr(os, 'geteuid') and os.geteuid() != 0:
        raise RuntimeError(
            f'{DEBIAN_DIR} is missing; as root run: apt-get install -y '
            f'{DEBIAN_PACKAGE}')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    if run(['apt-get', 'install', '-y', DEBIAN_PACKAGE], env=env).returncode:
        run(['apt-get', 'update'], env=env, check=True)
        run(['apt-get', 'install', '-y', DEBIAN_PACKAGE], env=env, check=True)


def prepare_fashion_mnist(data_root: str = 'data/fashion_mnist',
                          source: Optional[str] = None,
                          install: bool = True) -> List[str]:
    """Decompress the four ``*.gz`` IDX files of ``source`` into
    ``data_root``; files already complete there are left as they are.

    Args:
        data_root (str): Destination folder (created when missing).
        source (str, optional): Folder of the ``.gz`` files. Defaults to the
            Debian package's folder, installed first when missing and
            ``install`` is True.
        install (bool): Install the Debian package when its folder is
            missing. Defaults to True.

    Returns:
        list[str]: The files written (empty when all were in place).
    """
    if source is None:
        source = DEBIAN_DIR
        if not osp.isdir(source) and install:
            install_debian_package()
    written = []
    os.makedirs(data_root, exist_ok=True)
    for name in FILES:
        gz_path = osp.join(source, f'{name}.gz')
        if not osp.isfile(gz_path):
            raise FileNotFoundError(f'Fashion-MNIST archive not found: '
                                    f'{gz_path}')
        target = osp.join(data_root, name)
        if _is_complete(target, gz_path):
            continue
        partial = f'{target}.part'
        with gzip.open(gz_path, 'rb') as src, open(partial, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(partial, target)
        written.append(target)
    return written
