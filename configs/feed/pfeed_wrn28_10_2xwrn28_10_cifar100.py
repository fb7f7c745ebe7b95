# Parallel FEED with 2 WRN-28-10 teachers on CIFAR-100: the single-teacher
# baseline plus a second teacher, everything else equal.
_base_ = ['./ft_wrn28_10_wrn28_10_cifar100.py']

model = dict(
    teachers=dict(
        t1=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[1]),
    ))
