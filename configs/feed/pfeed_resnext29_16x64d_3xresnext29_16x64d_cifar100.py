# Parallel FEED with 3 ResNeXt-29 16x64d teachers on CIFAR-100: the
# 2-teacher config plus a third teacher, everything else equal.
_base_ = ['./pfeed_resnext29_16x64d_2xresnext29_16x64d_cifar100.py']

model = dict(
    teachers=dict(
        t2=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[2]),
    ))
