# Distil from vision transformers: a ResNet-18 student from a DeiT-S and a
# DINOv2 ViT-S teacher, each named by its MMPretrain model name. The
# recipe's 'auto' FEED map of a ViT is its last tokens restored to the
# patch grid of the actual input (class and distillation tokens dropped;
# DINOv2, built for 518 px, gives 16x16 patches at 224), without touching
# its output: the DeiT teacher's accuracy is reported, DINOv2 (a backbone
# without a head) is left out of it. DINOv2's weights are a pretraining
# release with no ImageNet head; DeiT-S's are its ImageNet classifier.
# Data: ImageNet's usual folders in data/imagenet (train/, val/).
_base_ = [
    '../_base_/datasets/imagenet_bs256.py',
    '../_base_/schedules/imagenet_bs256_100e.py',
    '../_base_/default_runtime.py',
    '../feed/_base_/feed_recipe.py',
]

model = dict(
    _base_.feed_model,
    architecture='resnet18_8xb32_in1k',
    teachers=dict(
        deit='deit-small_4xb256_in1k',
        dinov2='vit-small-p14_dinov2-pre_3rdparty'))
default_scope = 'mmrazor'
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
