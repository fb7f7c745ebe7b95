# The loss weight of each adapter x loss cell (configs/feed_hint/README.md),
# chosen on the val split: a log grid per cell (about half a decade apart,
# around FEED's beta 500 for FEED's L1 and FitNets' 100 for the normalised
# squared L2), 2 student seeds (2000-2001, none of the reported
# seeds), teacher t0 of configs/zoo/fmnist_cpu.py (its committed weights);
# and for AT from the three teachers of set A, the mean or the sum of its
# terms over teachers.
# The value with the higher mean val top-1 goes into hint_weights of
# configs/_base_/schedules/fmnist_recipe.py; a value at the grid's edge is
# not taken until the grid is extended past it. The test column is not read.
#     python tools/zoo.py configs/zoo/fmnist_hint_choice.py --jobs 2
# Extended twice: the best of the first four values lay at an edge for four
# of the six cells (FitNets' own 100 among them), then at 10 for two of the
# L2 cells.
_grid = dict(l1=(160.0, 500.0, 1600.0, 5000.0, 16000.0),
             l2=(3.2, 10.0, 32.0, 100.0, 320.0, 1000.0))
_cells = [
    # name, config, label
    ('translator_l1', 'configs/feed/ft_resnet20_resnet20_fmnist.py',
     'translator, L1 (FT)'),
    *[(f'{adapter}_{loss}',
       f'configs/feed_hint/hint_{adapter}_{loss}_resnet20_resnet20_fmnist.py',
       f'{label}, {loss.upper()}')
      for adapter, label in (('translator', 'translator'),
                             ('translatorbn', 'translator + BN'),
                             ('conv1x1', '1x1 conv + BN + ReLU'))
      for loss in ('l1', 'l2') if (adapter, loss) != ('translator', 'l1')],
]
protocol = dict(
    title='Fashion-MNIST adapter x loss weights, chosen on val (2 seeds, '
    'teacher t0)',
    metric='accuracy/top1',
    seeds=2,
    seed_base=2000,
    teachers=dict(
        label='teacher ResNet-20, set A',
        configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                 for s in range(3)],
        weights='configs/zoo/teachers'),
    settings=[
        # A setting name has no dot: weight 3.2 is w3p2.
        dict(name=f'{name}_w' + f'{weight:g}'.replace('.', 'p'),
             label=f'{label}, weight {weight:g}',
             config=config, teachers=['teacher:0'],
             cfg_options={'model.distiller.feed_loss.loss_weight': weight})
        for name, config, label in _cells
        for weight in _grid[name[-2:]]
    ] + [
        # AT from the three teachers: each term at AT's weight (500, the
        # peer recipe's) divided by the number of teachers (the mean) or not
        # (the sum).
        dict(name=f'at3_{reduction}', label=f'AT, 3 teachers, {reduction}',
             config='configs/at/at_resnet20_3xresnet20_fmnist.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2'],
             cfg_options={
                 f'model.distiller.distill_losses.loss_at_{stage}_{t}'
                 '.loss_weight': 500.0 * ratio
                 for stage in ('layer1', 'layer2', 'layer3')
                 for t in ('t0', 't1', 't2')})
        for reduction, ratio in (('mean', 1 / 3), ('sum', 1.0))
    ],
)
