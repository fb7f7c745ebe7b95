from .atomic_io import (ATOMIC_LOCAL_BACKEND, AtomicLocalBackend,
                        AtomicWriteError, atomic_open)
from .checkpoint import (CorruptCheckpointError, DownloadError,
                         UnsafeCheckpointError, allow_mmengine_checkpoints,
                         load_checkpoint, safe_load, trust_checkpoint)
from .configs import (config_root, register_all_modules,
                      register_config_scope, resolve_config)
from .errors import (DatasetCheckError, FEEDConfigError, NonFiniteLossError,
                     loss_weight_value)

__all__ = [
    'FEEDConfigError', 'DatasetCheckError', 'NonFiniteLossError',
    'loss_weight_value',
    'CorruptCheckpointError', 'UnsafeCheckpointError', 'DownloadError',
    'allow_mmengine_checkpoints', 'load_checkpoint',
    'atomic_open', 'AtomicWriteError', 'AtomicLocalBackend',
    'ATOMIC_LOCAL_BACKEND',
    'safe_load', 'trust_checkpoint', 'config_root',
    'register_config_scope', 'register_all_modules', 'resolve_config'
]
