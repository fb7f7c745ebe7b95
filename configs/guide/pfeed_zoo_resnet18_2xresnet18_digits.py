# pFEED whose student and two teachers are MMPretrain zoo configs, named by
# `cfg_path` as MMRazor's own distillation configs name them; the data,
# schedule and runtime are feed_mm's digits ones. Each teacher `ckpt` is a
# checkpoint file, a work dir (its last checkpoint) or an http(s) URL
# (downloaded once into the torch hub cache).
_base_ = [
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/digits_sgd_10e.py',
    '../_base_/default_runtime.py',
    '../feed/_base_/feed_recipe.py',
]
zoo_resnet18 = dict(
    cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py', pretrained=False)

model = dict(
    _base_.feed_model,
    architecture=zoo_resnet18,
    teachers=dict(
        t0=dict(model=zoo_resnet18, ckpt='work_dirs/guide/resnet18_digits_s0'),
        t1=dict(model=zoo_resnet18, ckpt='work_dirs/guide/resnet18_digits_s1'),
    ),
    # The zoo config's own preprocessor normalises with CIFAR-10's
    # statistics; the student is trained on digits.
    data_preprocessor=_base_.data_preprocessor,
    input_shape=(3, 32, 32))
default_scope = 'mmrazor'
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
randomness = dict(seed=100)
