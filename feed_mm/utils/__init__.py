from .atomic_io import (AtomicWriteError, atomic_open,
                        install_atomic_local_writes)
from .checkpoint import (CorruptCheckpointError, UnsafeCheckpointError,
                         install_safe_checkpoint_loader, safe_load,
                         trust_checkpoint)
from .configs import config_root, install_feed_mm_scope, resolve_config
from .errors import (DatasetCheckError, FEEDConfigError, NonFiniteLossError,
                     loss_weight_value)

__all__ = [
    'FEEDConfigError', 'DatasetCheckError', 'NonFiniteLossError',
    'loss_weight_value',
    'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_safe_checkpoint_loader', 'install_atomic_local_writes',
    'atomic_open', 'AtomicWriteError',
    'safe_load', 'trust_checkpoint', 'config_root',
    'install_feed_mm_scope', 'resolve_config'
]
