# pFEED whose student and two teachers are MMPretrain zoo configs, named by
# `cfg_path` as MMRazor's own distillation configs name them; the data,
# schedule, runtime and FEED recipe are feed_mm's digits ones (the data
# preprocessor too: the zoo config's own normalises with CIFAR-10's
# statistics). Each teacher `ckpt` is a checkpoint file, a work dir (its
# last checkpoint) or an http(s) URL (downloaded once into the torch hub
# cache).
_base_ = ['../feed/_base_/digits_feed.py']

zoo_resnet18 = dict(
    cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py', pretrained=False)
model = dict(
    architecture=dict(_delete_=True, **zoo_resnet18),
    teachers=dict(
        t0=dict(model=zoo_resnet18, ckpt='work_dirs/guide/resnet18_digits_s0'),
        t1=dict(model=zoo_resnet18, ckpt='work_dirs/guide/resnet18_digits_s1'),
    ))
