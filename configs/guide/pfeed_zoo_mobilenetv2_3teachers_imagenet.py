# Distil from the MMPretrain zoo: a MobileNetV2 student from three released
# teachers of three families, each named by its MMPretrain model name
# (mmpretrain.list_models()). A named teacher's `ckpt` defaults to its
# released weights (downloaded once into the torch hub cache, checked
# against the hash in the file name); an explicit ckpt overrides it. The
# FEED maps are the recipe's 'auto', found by the dry run (the last spatial
# map before global pooling: ResNet-50's and Swin-T's backbone output,
# ConvNeXt-T's last stage), whose input shape comes from the training
# pipeline (224).
# Data: ImageNet's usual folders in data/imagenet (train/, val/).
_base_ = [
    '../_base_/datasets/imagenet_bs256.py',
    '../_base_/schedules/imagenet_bs256_100e.py',
    '../_base_/default_runtime.py',
    '../feed/_base_/feed_recipe.py',
]

model = dict(
    _base_.feed_model,
    architecture='mobilenet-v2_8xb32_in1k',  # random init; or dict(
    # cfg_path='mobilenet-v2_8xb32_in1k', pretrained=True) to start trained
    teachers=dict(
        r50='resnet50_8xb32_in1k',
        swin='swin-tiny_16xb64_in1k',
        convnext='convnext-tiny_32xb128_in1k'))
default_scope = 'mmrazor'
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
