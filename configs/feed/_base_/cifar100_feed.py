# FEED on CIFAR-100, the paper's experimental setting: data, schedule and
# FEED method shared by every CIFAR-100 FEED config. The student and its
# teachers come from a per-architecture base, cifar100_<arch>_feed.py.
_base_ = [
    '../../_base_/datasets/cifar100_bs128.py',
    '../../_base_/schedules/cifar100_ft_164e.py',
    '../../_base_/default_runtime.py',
    './feed_recipe.py',
]

feed_model = dict(input_shape=(3, 32, 32))
default_scope = 'mmrazor'
# Student accuracy plus each teacher's (teacher.<name>.accuracy/top1).
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
# Students get seeds of their own, not any teacher's.
randomness = dict(seed=100)
