from .dataset_check_hook import DatasetCheckHook
from .rng_state_hook import RNGStateHook
from .sync_buffers_hook import FEEDSyncBuffersHook

__all__ = ['DatasetCheckHook', 'FEEDSyncBuffersHook', 'RNGStateHook']
