# CIFAR-100 ResNet-56 trained alone: the teachers of the ResNet-56 FEED configs
# (configs/feed/*resnet56*cifar100.py) and the "network alone" baseline. The
# per-seed files (cifar100_resnet56_s{0,1,2}.py) only set seed and work dir.
_base_ = [
    '../../_base_/models/cifar_resnet56.py',
    '../../_base_/datasets/cifar100_bs128.py',
    '../../_base_/schedules/cifar100_ft_164e.py',
    '../../_base_/default_runtime.py',
]
