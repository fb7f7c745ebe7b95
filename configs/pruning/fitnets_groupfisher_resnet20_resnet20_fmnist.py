# Recover with FEED: the pruned teacher (MMRazor's GroupFisherSubModel, its
# inherited weights) fine-tuned by FitNets (its adapter and loss in FEED's
# frame, the channels inferred from the pruned map) from the unpruned teacher
# t0, on the CPU protocol's student data and schedule.
_base_ = [
    '../feed_hint/hint_conv1x1_l2_resnet20_resnet20_fmnist.py',
    './_base_/group_fisher_resnet20_fmnist.py',
]

model = dict(
    architecture=dict(
        _delete_=True,
        _scope_='mmrazor',
        type='GroupFisherSubModel',
        algorithm=dict(
            _base_.group_fisher,
            architecture=_base_.model.architecture,
            init_cfg=dict(type='Pretrained',
                          checkpoint=_base_.pruned_path))))
