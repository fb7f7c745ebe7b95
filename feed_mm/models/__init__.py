from .algorithms import FEEDDistill
from .backbones import CifarResNet, CifarResNeXt, WideResNet
from .connectors import FEEDTranslator
from .distillers import FEEDDistiller
from .losses import FEEDLoss

__all__ = [
    'FEEDDistill', 'FEEDDistiller', 'FEEDTranslator', 'FEEDLoss',
    'CifarResNet', 'WideResNet', 'CifarResNeXt'
]
