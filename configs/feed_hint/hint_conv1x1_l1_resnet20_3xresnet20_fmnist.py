# FitNets' adapter (1x1 conv + BN + ReLU) with FEED's L1 loss, one adapter
# per teacher, from the three teachers t0, t1, t2 on Fashion-MNIST: the
# single-teacher cell that tied with FitNets' own on val, in pFEED-3's frame
# (configs/feed_hint/README.md).
_base_ = [
    '../feed/pfeed_resnet20_3xresnet20_fmnist.py', './_base_/hint_parts.py'
]

model = dict(
    distiller=dict(
        translator=_base_.conv1x1,
        feed_loss=dict(loss_weight=_base_.hint_weights['conv1x1_l1'])))
