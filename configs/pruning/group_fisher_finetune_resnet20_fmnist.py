# The pruned teacher fine-tuned alone (MMRazor's GroupFisherSubModel: the
# static pruned ResNet-20 with the weights it inherited from pruning), on
# the CPU protocol's student data and schedule: the baseline of the FEED
# recoveries in this folder.
_base_ = [
    '../students/fmnist_resnet20.py',
    './_base_/group_fisher_resnet20_fmnist.py',
]

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='GroupFisherSubModel',
    algorithm=dict(
        _base_.group_fisher,
        architecture=_base_.model,
        init_cfg=dict(type='Pretrained', checkpoint=_base_.pruned_path)))
