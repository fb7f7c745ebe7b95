"""Put Fashion-MNIST in place for the configs: decompress the four IDX files
of the Debian package ``dataset-fashion-mnist`` (installed first when it is
missing) into data/fashion_mnist/. Idempotent: complete files are kept.

    python tools/data/prepare_fashion_mnist.py
    python tools/data/prepare_fashion_mnist.py --source DIR_OF_GZ_FILES
"""
import argparse

from feed_mm.datasets import prepare_fashion_mnist


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
    written = prepare_fashion_mnist(args.data_root, args.source,
                                    install=not args.no_install)
    print(f'{len(written)} file(s) written, Fashion-MNIST ready in '
          f'{args.data_root}')


if __name__ == '__main__':
    main()
