# The pruned student as a plain model: MMRazor's GroupFisherDeploySubModel
# builds the static pruned ResNet-20 from the structure GroupFisher found
# (fix_subnet: unit -> channels kept, the fix_subnet.json that
# GroupFisherSubModel writes in its work dir), for the weights
# tools/convert_to_student.py exports from a fine-tuning or FEED run:
#     mmpretrain.get_model(this config, pretrained='student.pth')
#     ImageClassificationInferencer(this config, pretrained='student.pth')
_base_ = [
    '../students/fmnist_resnet20.py',
    './_base_/group_fisher_resnet20_fmnist.py',
]

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='GroupFisherDeploySubModel',
    architecture=_base_.model,
    fix_subnet=_base_.pruned_structure,
    parse_cfg=dict(type='ChannelAnalyzer', tracer_type='FxTracer',
                   demo_input=_base_.input_shape))
