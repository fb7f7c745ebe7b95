from .hooks import (DatasetCheckHook, FEEDSyncBuffersHook, LossStatsHook,
                    NonFiniteLossHook, RNGStateHook, TeacherProvenanceHook)
from .loops import FEEDTestLoop, FEEDValLoop

__all__ = [
    'DatasetCheckHook', 'FEEDSyncBuffersHook', 'LossStatsHook',
    'NonFiniteLossHook', 'RNGStateHook', 'TeacherProvenanceHook',
    'FEEDValLoop', 'FEEDTestLoop'
]
