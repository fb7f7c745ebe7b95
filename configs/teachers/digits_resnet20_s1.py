# Teacher 1 for the digits FEED configs: ResNet-20 trained alone. Teachers
# of one architecture differ only by their seed (independent runs).
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/digits_sgd_10e.py',
    '../_base_/default_runtime.py',
]
randomness = dict(seed=1)
work_dir = 'work_dirs/teachers/digits_resnet20_s1'
