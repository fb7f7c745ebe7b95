from .building import build_distiller
from .feed_distiller import FEEDDistiller

__all__ = ['FEEDDistiller', 'build_distiller']
