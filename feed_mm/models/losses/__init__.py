from .feed_loss import FEEDLoss, feature_factor, match_spatial_size

__all__ = ['FEEDLoss', 'feature_factor', 'match_spatial_size']
