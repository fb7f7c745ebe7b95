# Adapter x loss grid, one teacher (t0) on Fashion-MNIST: FitNets' adapter and
# loss (FitNets in FEED's frame). FT's student, data, schedule and teacher
# otherwise (configs/feed_hint/README.md).
_base_ = [
    '../feed/ft_resnet20_resnet20_fmnist.py', './_base_/hint_parts.py'
]

model = dict(
    distiller=dict(
        translator=_base_.conv1x1,
        feed_loss=dict(_base_.l2,
                       loss_weight=_base_.hint_weights['conv1x1_l2'])))
