# The pruned ResNet-20 (50 % of its channels, MMRazor's channel mutator)
# trained alone on the digits; also the plain config that the FEED-trained
# pruned student, exported by tools/convert_to_student.py, loads into.
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/models/digits_resnet20_pruned50.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/digits_sgd_10e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='GroupFisherDeploySubModel',
    architecture=dict(_base_.model, _scope_='mmpretrain'),
    fix_subnet=_base_.pruned_units,
    parse_cfg=_base_.pruning_tracer)
randomness = dict(seed=0)
