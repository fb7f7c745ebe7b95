# FEED on CIFAR-100 with a WRN-28-10 student. Its teachers are the WRN-28-10
# networks trained alone by configs/teachers/cifar100_wrn28_10_s*.py (run
# those first); a teacher `ckpt` is its work dir (its last checkpoint).
_base_ = ['../../_base_/models/cifar_wrn28_10.py', './cifar100_feed.py']

teacher_dirs = [f'work_dirs/teachers/cifar100_wrn28_10_s{seed}'
                for seed in range(3)]

model = dict(_base_.feed_model, _delete_=True, architecture=_base_.model)
