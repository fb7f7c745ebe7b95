# Single-teacher baseline (Factor Transfer's translator and loss, no
# paraphraser): FEED with N = 1, WRN-28-10 from one WRN-28-10 on CIFAR-100.
# The pFEED configs of this architecture add teachers to this one.
_base_ = ['./_base_/cifar100_wrn28_10_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
