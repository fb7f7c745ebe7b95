# Parallel FEED with 2 ResNet-34 teachers on ImageNet: the single-teacher
# baseline plus a second teacher, everything else equal.
_base_ = ['./ft_resnet34_resnet34_imagenet.py']

model = dict(
    teachers=dict(
        t1=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[1]),
    ))
