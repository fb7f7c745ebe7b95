# ImageNet ResNet-34 trained alone: the teachers of the ImageNet FEED configs
# (configs/feed/*resnet34*imagenet.py) and the "network alone" baseline. The
# per-seed files (imagenet_resnet34_s{0,1,2}.py) only set seed and work dir.
_base_ = [
    '../../_base_/models/imagenet_resnet34.py',
    '../../_base_/datasets/imagenet_bs256.py',
    '../../_base_/schedules/imagenet_bs256_100e.py',
    '../../_base_/default_runtime.py',
]
