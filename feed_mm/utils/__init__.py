from .checkpoint import (CorruptCheckpointError, UnsafeCheckpointError,
                         install_safe_checkpoint_loader, safe_load,
                         trust_checkpoint)
from .errors import FEEDConfigError

__all__ = [
    'FEEDConfigError', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_safe_checkpoint_loader', 'safe_load', 'trust_checkpoint'
]
