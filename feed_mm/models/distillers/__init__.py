from .feed_distiller import FEEDDistiller, build_distiller

__all__ = ['FEEDDistiller', 'build_distiller']
