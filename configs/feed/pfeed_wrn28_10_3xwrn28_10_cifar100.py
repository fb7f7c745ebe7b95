# Parallel FEED with 3 WRN-28-10 teachers on CIFAR-100: the 2-teacher config
# plus a third teacher, everything else equal.
_base_ = ['./pfeed_wrn28_10_2xwrn28_10_cifar100.py']

model = dict(
    teachers=dict(
        t2=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[2]),
    ))
