# Prune with MMRazor: GroupFisher (MMRazor's GroupFisherAlgorithm and its
# hooks, as its group_fisher configs set them) removes channels of the
# trained Fashion-MNIST ResNet-20 teacher t0 by their Fisher importance,
# normalised by FLOPs, one channel every `interval` iterations on the 55,000
# training images, and saves a checkpoint once the model is at half its
# FLOPs (flops_0.50.pth in the work dir). configs/pruning/README.md: the
# fine-tuning and the FEED recovery that follow.
_base_ = [
    '../teachers/fmnist_resnet20_s0.py',
    './_base_/group_fisher_resnet20_fmnist.py',
]

# The committed teacher (configs/zoo/teachers/), from this file's directory.
pretrained_path = '{{ fileDirname }}/../zoo/teachers/fmnist_resnet20_s0.pth'
# MMRazor's group_fisher configs: a fraction of the pretraining lr, so that
# the pruning steps stay stable.
lr_ratio = 0.04

model = dict(
    _delete_=True,
    **_base_.group_fisher,
    architecture=dict(
        _base_.model,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_path)))
model_wrapper_cfg = dict(type='mmrazor.GroupFisherDDP',
                         broadcast_buffers=False)
optim_wrapper = dict(optimizer=dict(lr=_base_.teacher_lr * lr_ratio))
# Enough epochs to reach the target before the schedule ends.
train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
custom_hooks = _base_.custom_hooks + [
    dict(type='mmrazor.PruningStructureHook'),
    dict(
        type='mmrazor.ResourceInfoHook',
        interval=_base_.interval,
        demo_input=dict(type='mmrazor.DefaultDemoInput',
                        input_shape=_base_.input_shape),
        save_ckpt_thr=[_base_.target_flop_ratio]),
]
work_dir = 'work_dirs/pruning/group_fisher_prune_resnet20_fmnist'
