# Half of every prunable channel group of the digits ResNet-20
# (configs/_base_/models/digits_resnet20.py) removed by MMRazor's channel
# mutator, as its GroupFisherDeploySubModel builds the pruned static model:
# 69 k parameters against 272 k. The 12 units and their names are those of
# MMRazor's ChannelAnalyzer tracing ResNet-20 at 32x32; each value is the
# fraction of the unit's channels kept.
prune_ratio = 0.5
pruned_units = {
    unit: prune_ratio
    for unit in [
        'backbone.conv1_(0, 16)_16',
        *[f'backbone.layer1.{b}.conv1_(0, 16)_16' for b in range(3)],
        'backbone.layer2.0.downsample.0_(0, 32)_32',
        *[f'backbone.layer2.{b}.conv1_(0, 32)_32' for b in range(3)],
        'backbone.layer3.0.downsample.0_(0, 64)_64',
        *[f'backbone.layer3.{b}.conv1_(0, 64)_64' for b in range(3)],
    ]
}
pruning_tracer = dict(
    _scope_='mmrazor',
    type='ChannelAnalyzer',
    demo_input=(1, 3, 32, 32),
    tracer_type='FxTracer')
