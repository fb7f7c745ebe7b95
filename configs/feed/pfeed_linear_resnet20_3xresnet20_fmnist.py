# Ablation of pFEED-3 on Fashion-MNIST: linear translators (one 1x1
# convolution, no activation) instead of FEED's non-linear three-conv ones.
# Everything else is the pFEED-3 config.
_base_ = ['./pfeed_resnet20_3xresnet20_fmnist.py']

model = dict(
    distiller=dict(
        translator=dict(num_convs=1, kernel_size=1, act_cfg=None)))
