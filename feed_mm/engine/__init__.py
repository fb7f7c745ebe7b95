from .hooks import DatasetCheckHook, FEEDSyncBuffersHook, RNGStateHook
from .loops import FEEDTestLoop, FEEDValLoop

__all__ = [
    'DatasetCheckHook', 'FEEDSyncBuffersHook', 'RNGStateHook', 'FEEDValLoop',
    'FEEDTestLoop'
]
