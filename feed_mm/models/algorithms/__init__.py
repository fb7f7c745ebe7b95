from .feed_distill import FEEDDistill

__all__ = ['FEEDDistill']
