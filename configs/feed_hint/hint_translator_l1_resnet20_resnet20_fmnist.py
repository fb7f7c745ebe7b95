# Adapter x loss grid, one teacher (t0) on Fashion-MNIST: FEED's translator
# and FEED's L1 loss, FT, with the weight the grid chose on val (FT's own
# beta is 500). FT's student, data, schedule and teacher otherwise
# (configs/feed_hint/README.md).
_base_ = [
    '../feed/ft_resnet20_resnet20_fmnist.py', './_base_/hint_parts.py'
]

model = dict(
    distiller=dict(
        feed_loss=dict(loss_weight=_base_.hint_weights['translator_l1'])))
