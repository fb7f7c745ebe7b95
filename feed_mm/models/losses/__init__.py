from .feed_loss import FEEDLoss, feature_factor

__all__ = ['FEEDLoss', 'feature_factor']
