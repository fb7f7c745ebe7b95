from .cifar_imagenet_check import CheckedCIFAR100, CheckedImageNet
from .sklearn_digits import SklearnDigits

__all__ = ['SklearnDigits', 'CheckedCIFAR100', 'CheckedImageNet']
