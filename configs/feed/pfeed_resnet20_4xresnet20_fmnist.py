# Parallel FEED with 4 ResNet-20 teachers on Fashion-MNIST (the zoo's
# number-of-teachers curve).
_base_ = ['./_base_/fmnist_feed.py']

model = dict(
    teachers={
        f't{k}': dict(model=_base_.model.architecture,
                      ckpt=_base_.teacher_dirs[k])
        for k in range(4)
    })
