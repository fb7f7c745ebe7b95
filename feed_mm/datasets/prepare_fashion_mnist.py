"""Put Fashion-MNIST's IDX files in place from the Debian package
``dataset-fashion-mnist`` (the offline source on this project's machines).
Installing the package is the prepare tool's job
(``tools/data/prepare_fashion_mnist.py``), never the library's."""
import gzip
import os
import os.path as osp
import shutil
from typing import List, Optional

from .fashion_mnist import FILES

DEBIAN_PACKAGE = 'dataset-fashion-mnist'
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'
DEBIAN_INSTALL = f'apt-get install -y {DEBIAN_PACKAGE}'


def _is_complete(path: str, gz_path: str) -> bool:
    """Whether ``path`` is the full decompression of ``gz_path``: gzip keeps
    the uncompressed size (mod 2**32) in its last four bytes."""
    if not osp.isfile(path):
        return False
    with open(gz_path, 'rb') as f:
        f.seek(-4, os.SEEK_END)
        size = int.from_bytes(f.read(4), 'little')
    return osp.getsize(path) % 2**32 == size


def prepare_fashion_mnist(data_root: str = 'data/fashion_mnist',
                          source: Optional[str] = None) -> List[str]:
    """Decompress the four ``*.gz`` IDX files of ``source`` (default: the
    Debian package's folder) into ``data_root``; files already complete
    there are left as they are.

    Returns:
        list[str]: The files written (empty when all were in place).

    Raises:
        FileNotFoundError: An archive is missing (for the Debian folder: the
            command that installs it).
    """
    if source is None:
        source = DEBIAN_DIR
        if not osp.isdir(source):
            raise FileNotFoundError(
                f'{DEBIAN_DIR} is missing: install the Debian package '
                f'({DEBIAN_INSTALL}, or python tools/data/'
                'prepare_fashion_mnist.py as root), or pass the folder of the '
                'four Fashion-MNIST IDX .gz files as source')
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
