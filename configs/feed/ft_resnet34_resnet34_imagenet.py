# Single-teacher baseline (Factor Transfer's translator and loss, no
# paraphraser): FEED with N = 1, ResNet-34 from one ResNet-34 on ImageNet.
# The pFEED configs add teachers to this one.
_base_ = ['./_base_/imagenet_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
