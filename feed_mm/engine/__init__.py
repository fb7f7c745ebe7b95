from .hooks import (DatasetCheckHook, FEEDSyncBuffersHook, RNGStateHook,
                    TeacherProvenanceHook)
from .loops import FEEDTestLoop, FEEDValLoop

__all__ = [
    'DatasetCheckHook', 'FEEDSyncBuffersHook', 'RNGStateHook',
    'TeacherProvenanceHook', 'FEEDValLoop', 'FEEDTestLoop'
]
