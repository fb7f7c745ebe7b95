# Single-teacher baseline (Factor Transfer's translator and loss, no
# paraphraser): FEED with N = 1, on SklearnDigits.
_base_ = ['./_base_/digits_feed.py']

model = dict(
    teachers=dict(
        t0=dict(model=_base_.model.architecture, ckpt=_base_.teacher_dirs[0]),
    ))
