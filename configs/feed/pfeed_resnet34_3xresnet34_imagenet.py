# Parallel FEED with 3 ResNet-34 teachers on ImageNet: the 2-teacher config
# plus a third teacher, everything else equal.
_base_ = ['./pfeed_resnet34_2xresnet34_imagenet.py']

model = dict(
    teachers=dict(
        t2=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[2]),
    ))
