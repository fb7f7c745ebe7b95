from .feed_distiller import FEEDDistiller

__all__ = ['FEEDDistiller']
