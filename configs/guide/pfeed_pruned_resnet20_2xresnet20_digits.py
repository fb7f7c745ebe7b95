# Prune 50 % of ResNet-20's channels with MMRazor, recover with FEED from
# the original models: the pruned student (the model of
# configs/guide/resnet20_pruned50_digits.py) learns from two unpruned
# ResNet-20 teachers (configs/teachers/digits_resnet20_s{0,1}.py). Its map
# has 32 channels, the teachers' 64: each translator maps 32 -> 64.
_base_ = [
    '../feed/_base_/digits_feed.py',
    '../_base_/models/digits_resnet20_pruned50.py',
]
_resnet20 = _base_.model.architecture
model = dict(
    architecture=dict(
        _delete_=True,
        _scope_='mmrazor',
        type='GroupFisherDeploySubModel',
        # Built in MMPretrain's scope, nested in MMRazor's.
        architecture=dict(_resnet20, _scope_='mmpretrain'),
        fix_subnet=_base_.pruned_units,
        parse_cfg=_base_.pruning_tracer),
    teachers=dict(
        t0=dict(model=_resnet20, ckpt=_base_.teacher_dirs[0]),
        t1=dict(model=_resnet20, ckpt=_base_.teacher_dirs[1])))
