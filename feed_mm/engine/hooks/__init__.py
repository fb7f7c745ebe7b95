from .atomic_checkpoint_hook import AtomicCheckpointHook
from .dataset_check_hook import DatasetCheckHook
from .loss_stats_hook import LossStatsHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .sync_buffers_hook import FEEDSyncBuffersHook
from .teacher_provenance_hook import TeacherProvenanceHook

__all__ = [
    'AtomicCheckpointHook', 'DatasetCheckHook', 'FEEDSyncBuffersHook',
    'LossStatsHook', 'NonFiniteLossHook', 'RNGStateHook',
    'TeacherProvenanceHook'
]
