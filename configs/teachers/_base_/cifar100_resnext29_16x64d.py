# CIFAR-100 ResNeXt-29 16x64d trained alone: the teachers of the ResNeXt-29
# FEED configs (configs/feed/*resnext29_16x64d*cifar100.py) and the "network
# alone" baseline. The per-seed files (cifar100_resnext29_16x64d_s{0,1,2}.py)
# only set seed and work dir.
_base_ = [
    '../../_base_/models/cifar_resnext29_16x64d.py',
    '../../_base_/datasets/cifar100_bs128.py',
    '../../_base_/schedules/cifar100_ft_164e.py',
    '../../_base_/default_runtime.py',
]
