from .cifar_resnet import CifarResNet
from .cifar_resnext import CifarResNeXt
from .wide_resnet import WideResNet

__all__ = ['CifarResNet', 'CifarResNeXt', 'WideResNet']
