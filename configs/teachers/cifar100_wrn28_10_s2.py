# WRN-28-10 teacher 2 on CIFAR-100. Teachers of one architecture differ only by
# their seed (independently trained networks, the paper's main setting).
_base_ = ['./_base_/cifar100_wrn28_10.py']

randomness = dict(seed=2)
work_dir = 'work_dirs/teachers/cifar100_wrn28_10_s2'
