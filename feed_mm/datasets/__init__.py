from .cifar_imagenet_check import CheckedCIFAR100, CheckedImageNet
from .fashion_mnist import CheckedFashionMNIST
from .prepare_fashion_mnist import prepare_fashion_mnist
from .sklearn_digits import SklearnDigits

__all__ = [
    'SklearnDigits', 'CheckedCIFAR100', 'CheckedImageNet',
    'CheckedFashionMNIST', 'prepare_fashion_mnist'
]
