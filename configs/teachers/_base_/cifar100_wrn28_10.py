# CIFAR-100 WRN-28-10 trained alone: the teachers of the WRN-28-10 FEED configs
# (configs/feed/*wrn28_10*cifar100.py) and the "network alone" baseline. The
# per-seed files (cifar100_wrn28_10_s{0,1,2}.py) only set seed and work dir.
_base_ = [
    '../../_base_/models/cifar_wrn28_10.py',
    '../../_base_/datasets/cifar100_bs128.py',
    '../../_base_/schedules/cifar100_ft_164e.py',
    '../../_base_/default_runtime.py',
]
