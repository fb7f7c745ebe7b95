# The guide's second teacher: the same network, another seed.
_base_ = ['./resnet18_digits_s0.py']
randomness = dict(seed=1)
work_dir = 'work_dirs/guide/resnet18_digits_s1'
