# Parallel FEED with 3 ResNet-56 teachers on CIFAR-100: the 2-teacher config
# plus a third teacher, everything else equal.
_base_ = ['./pfeed_resnet56_2xresnet56_cifar100.py']

model = dict(
    teachers=dict(
        t2=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[2]),
    ))
