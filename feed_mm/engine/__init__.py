from .hooks import (AtomicCheckpointHook, DatasetCheckHook,
                    FEEDSyncBuffersHook, LossStatsHook, NonFiniteLossHook,
                    RNGStateHook, TeacherProvenanceHook)
from .loops import FEEDTestLoop, FEEDValLoop

__all__ = [
    'AtomicCheckpointHook', 'DatasetCheckHook', 'FEEDSyncBuffersHook',
    'LossStatsHook', 'NonFiniteLossHook', 'RNGStateHook',
    'TeacherProvenanceHook', 'FEEDValLoop', 'FEEDTestLoop'
]
