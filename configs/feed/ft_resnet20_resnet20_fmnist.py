# Single-teacher baseline on Fashion-MNIST (Factor Transfer's translator and
# loss, no paraphraser): FEED with N = 1.
_base_ = ['./_base_/fmnist_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
