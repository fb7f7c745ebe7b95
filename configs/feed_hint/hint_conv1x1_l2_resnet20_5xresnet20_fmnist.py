# pFitNets-5: FitNets' hint from each of the five teachers t0-t4 on
# Fashion-MNIST (one MMRazor connector and one normalised squared L2 term
# per teacher, summed as FEED sums its terms): pFitNets' number-of-teachers
# curve beside pFEED's (configs/feed_hint/README.md).
_base_ = [
    '../feed/pfeed_resnet20_5xresnet20_fmnist.py', './_base_/hint_parts.py'
]

model = dict(
    distiller=dict(
        translator=_base_.conv1x1,
        feed_loss=dict(_base_.l2,
                       loss_weight=_base_.hint_weights['conv1x1_l2'])))
