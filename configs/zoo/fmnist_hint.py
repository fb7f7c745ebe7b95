# Better students from several teachers (configs/feed_hint/README.md), on
# the Fashion-MNIST CPU protocol (ResNet-20 students on 50 images per class,
# the committed teachers of set A, the student seeds of fmnist_cpu.py):
#   1. adapter x loss, one teacher: FEED's translator, with BatchNorm, or
#      FitNets' 1x1 conv + BN + ReLU, each with FEED's L1 or FitNets'
#      normalised squared L2, each at its weight chosen on val
#      (fmnist_hint_choice.py), beside today's FT and FitNets;
#   2. the multi-teacher forms: pFitNets-3, pFEED-3 + FitNets(t0), AT from
#      the three teachers, beside pFEED-3.
# Every run keeps its loss terms per epoch ("What the losses do").
#     python tools/zoo.py configs/zoo/fmnist_hint.py --jobs 2 --threads 1
_set_a = ['teacher:0', 'teacher:1', 'teacher:2']
_cells = (('translator', 'translator'), ('translatorbn', 'translator + BN'),
          ('conv1x1', '1x1 conv + BN + ReLU'))
protocol = dict(
    title='Fashion-MNIST, adapter x loss and multi-teacher hints (ResNet-20 '
    'students on 50 images per class; teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=5,
    seed_base=1000,
    teachers=dict(
        label='teacher ResNet-20, set A (seeds 0-2)',
        configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                 for s in range(3)],
        weights='configs/zoo/teachers'),
    settings=[
        dict(name='student', label='student ResNet-20 alone',
             config='configs/students/fmnist_resnet20.py'),
        dict(name='ft', label='FT: FEED, 1 teacher (beta 500)',
             config='configs/feed/ft_resnet20_resnet20_fmnist.py',
             teachers=_set_a[:1]),
        dict(name='fitnets', label='FitNets, 1 teacher (MMRazor config)',
             config='configs/fitnets/fitnets_resnet20_resnet20_fmnist.py',
             teachers=_set_a[:1]),
        *[dict(name=f'{adapter}_{loss}',
               label=f'{label}, {loss.upper()}, 1 teacher',
               config=f'configs/feed_hint/hint_{adapter}_{loss}_resnet20_'
               'resnet20_fmnist.py', teachers=_set_a[:1])
          for adapter, label in _cells for loss in ('l1', 'l2')],
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config='configs/feed/pfeed_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
        dict(name='pfitnets3',
             label='pFitNets, 3 teachers (1x1 conv + BN + ReLU, L2, each)',
             config='configs/feed_hint/hint_conv1x1_l2_resnet20_3xresnet20_'
             'fmnist.py', teachers=_set_a),
        dict(name='pfeed3_fitnets', label='pFEED, 3 teachers + FitNets(t0)',
             config='configs/feed/pfeed_fitnets_resnet20_3xresnet20_fmnist'
             '.py', teachers=_set_a),
        dict(name='at3', label='AT, 3 teachers',
             config='configs/at/at_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
    ],
    baselines=['student', 'fitnets', 'pfeed3'],
)
