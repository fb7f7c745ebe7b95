# The roles turned: a DeiT-T student (a vision transformer, trained with its
# own head) from a ResNet-50 teacher, both by name. The student's FEED map
# is its last tokens on its patch grid (14x14 at 224); the teacher's 7x7
# map is resized to it.
# Data: ImageNet's usual folders in data/imagenet (train/, val/).
_base_ = [
    '../_base_/datasets/imagenet_bs256.py',
    '../_base_/schedules/imagenet_bs256_100e.py',
    '../_base_/default_runtime.py',
    '../feed/_base_/feed_recipe.py',
]

model = dict(
    _base_.feed_model,
    architecture='deit-tiny_4xb256_in1k',
    teachers=dict(r50='resnet50_8xb32_in1k'))
default_scope = 'mmrazor'
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
