# FEED on CIFAR-100 with a ResNet-56 student. Its teachers are the ResNet-56
# networks trained alone by configs/teachers/cifar100_resnet56_s*.py (run
# those first); a teacher `ckpt` is its work dir (its last checkpoint).
_base_ = ['../../_base_/models/cifar_resnet56.py', './cifar100_feed.py']

teacher_dirs = [f'work_dirs/teachers/cifar100_resnet56_s{seed}'
                for seed in range(3)]

model = dict(_base_.feed_model, _delete_=True, architecture=_base_.model)
