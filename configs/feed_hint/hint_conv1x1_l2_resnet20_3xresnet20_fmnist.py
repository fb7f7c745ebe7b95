# pFitNets-3: FitNets' hint from each of the three teachers t0, t1, t2 on
# Fashion-MNIST, one MMRazor connector (1x1 conv + BN + ReLU) and one
# normalised squared L2 term per teacher, summed as FEED sums its terms:
# pFEED-3's student, data, schedule and teachers otherwise
# (configs/feed_hint/README.md).
_base_ = [
    '../feed/pfeed_resnet20_3xresnet20_fmnist.py', './_base_/hint_parts.py'
]

model = dict(
    distiller=dict(
        translator=_base_.conv1x1,
        feed_loss=dict(_base_.l2,
                       loss_weight=_base_.hint_weights['conv1x1_l2'])))
