# Parallel FEED with 2 ResNeXt-29 16x64d teachers on CIFAR-100: the
# single-teacher baseline plus a second teacher, everything else equal.
_base_ = ['./ft_resnext29_16x64d_resnext29_16x64d_cifar100.py']

model = dict(
    teachers=dict(
        t1=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[1]),
    ))
