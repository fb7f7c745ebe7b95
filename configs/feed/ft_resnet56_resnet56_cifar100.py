# Single-teacher baseline (Factor Transfer's translator and loss, no
# paraphraser): FEED with N = 1, ResNet-56 from one ResNet-56 on CIFAR-100.
# The pFEED configs of this architecture add teachers to this one.
_base_ = ['./_base_/cifar100_resnet56_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
