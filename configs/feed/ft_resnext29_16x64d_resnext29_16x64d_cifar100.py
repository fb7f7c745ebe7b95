# Single-teacher baseline (Factor Transfer's translator and loss, no
# paraphraser): FEED with N = 1, ResNeXt-29 16x64d from one ResNeXt-29
# 16x64d on CIFAR-100.
# The pFEED configs of this architecture add teachers to this one.
_base_ = ['./_base_/cifar100_resnext29_16x64d_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
