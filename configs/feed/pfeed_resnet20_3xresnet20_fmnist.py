# Parallel FEED with 3 ResNet-20 teachers on Fashion-MNIST.
_base_ = ['./_base_/fmnist_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
        t1=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[1]),
        t2=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[2]),
    ))
