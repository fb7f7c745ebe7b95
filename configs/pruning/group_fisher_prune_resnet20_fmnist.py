# Prune with MMRazor: GroupFisher (MMRazor's GroupFisherAlgorithm and its
# hooks, as its group_fisher configs set them) removes channels of the
# trained Fashion-MNIST ResNet-20 teacher t0 by their Fisher importance,
# normalised by FLOPs, one channel every `interval` iterations on the 55,000
# training images, and saves a checkpoint once the model is at half its
# FLOPs (flops_0.50.pth in the work dir). The pruned model is fine-tuned by
# ./group_fisher_finetune_resnet20_fmnist.py (alone) and recovered by FEED
# (./*_groupfisher_resnet20_*fmnist.py).
_base_ = ['../teachers/fmnist_resnet20_s0.py']

# The committed teacher (configs/zoo/teachers/), from this file's directory.
pretrained_path = '{{ fileDirname }}/../zoo/teachers/fmnist_resnet20_s0.pth'
interval = 10
normalization_type = 'flops'
target_flop_ratio = 0.5
# MMRazor's group_fisher configs: a fraction of the pretraining lr, so that
# pruning steps stay stable.
lr_ratio = 0.04
input_shape = [1, 1, 28, 28]

architecture = dict(
    _base_.model,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained_path))
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='GroupFisherAlgorithm',
    architecture=architecture,
    interval=interval,
    mutator=dict(
        type='GroupFisherChannelMutator',
        parse_cfg=dict(type='ChannelAnalyzer', tracer_type='FxTracer',
                       demo_input=input_shape),
        channel_unit_cfg=dict(
            type='GroupFisherChannelUnit',
            default_args=dict(normalization_type=normalization_type))))
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
        interval=interval,
        demo_input=dict(type='mmrazor.DefaultDemoInput',
                        input_shape=input_shape),
        save_ckpt_thr=[target_flop_ratio]),
]
randomness = dict(seed=0)
work_dir = 'work_dirs/pruning/group_fisher_prune_resnet20_fmnist'
