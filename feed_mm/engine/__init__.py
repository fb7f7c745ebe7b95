from .hooks import (DatasetCheckHook, FEEDSyncBuffersHook, NonFiniteLossHook,
                    RNGStateHook, TeacherProvenanceHook)
from .loops import FEEDTestLoop, FEEDValLoop

__all__ = [
    'DatasetCheckHook', 'FEEDSyncBuffersHook', 'NonFiniteLossHook',
    'RNGStateHook', 'TeacherProvenanceHook', 'FEEDValLoop', 'FEEDTestLoop'
]
