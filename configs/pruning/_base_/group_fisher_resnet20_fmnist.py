# MMRazor's GroupFisher on the Fashion-MNIST ResNet-20, as its group_fisher
# configs set it (mmrazor configs/pruning/mmcls/group_fisher/): the
# algorithm without its architecture, which each config adds (the trained
# teacher to prune, or the pruned model to fine-tune). One channel is pruned
# every `interval` iterations, its importance the Fisher information
# normalised by the FLOPs it costs; the channel analyzer traces the model on
# a Fashion-MNIST-sized input.
interval = 10
target_flop_ratio = 0.5
input_shape = [1, 1, 28, 28]
group_fisher = dict(
    _scope_='mmrazor',
    type='GroupFisherAlgorithm',
    interval=interval,
    mutator=dict(
        type='GroupFisherChannelMutator',
        parse_cfg=dict(type='ChannelAnalyzer', tracer_type='FxTracer',
                       demo_input=input_shape),
        channel_unit_cfg=dict(
            type='GroupFisherChannelUnit',
            default_args=dict(normalization_type='flops'))))
# The pruned teacher t0 at half its FLOPs (the flops_0.50.pth that
# ../group_fisher_prune_resnet20_fmnist.py saves) and its structure (the
# fix_subnet.json GroupFisherSubModel writes), committed beside the teachers
# it was pruned from under that config's name.
_pruned = '{{ fileDirname }}/../../zoo/teachers/' \
    'group_fisher_prune_resnet20_fmnist'
pruned_path = _pruned + '.pth'
pruned_structure = _pruned + '.json'
