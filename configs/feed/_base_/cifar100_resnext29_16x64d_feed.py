# FEED on CIFAR-100 with a ResNeXt-29 16x64d student. Its teachers are the
# ResNeXt-29 16x64d networks trained alone by
# configs/teachers/cifar100_resnext29_16x64d_s*.py (run those first); a
# teacher `ckpt` is its work dir (its last checkpoint).
_base_ = [
    '../../_base_/models/cifar_resnext29_16x64d.py', './cifar100_feed.py'
]

teacher_dirs = [f'work_dirs/teachers/cifar100_resnext29_16x64d_s{seed}'
                for seed in range(3)]

model = dict(_base_.feed_model, _delete_=True, architecture=_base_.model)
