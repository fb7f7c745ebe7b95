# The Fashion-MNIST CPU protocol: three ResNet-20 teachers on the 55,000
# training images (trained once), then every student setting on the
# reduced class-balanced split (configs/_base_/schedules/fmnist_recipe.py)
# over 5 seeds. Run it (resumable) with
#     python tools/zoo.py configs/zoo/fmnist_cpu.py
_fmnist_ft = 'configs/feed/ft_resnet20_resnet20_fmnist.py'
_sfeed_seeds = 3
protocol = dict(
    title='Fashion-MNIST, CPU protocol (ResNet-20; teachers on 55,000 '
    'images, students on 50 images per class)',
    metric='accuracy/top1',
    seeds=5,
    # Student seeds (1000 + seed) differ from the teachers' (0, 1, 2).
    seed_base=1000,
    teachers=dict(
        label='teacher ResNet-20 (55,000 images)',
        configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                 for s in range(3)]),
    settings=[
        dict(name='student', label='student ResNet-20 alone',
             config='configs/students/fmnist_resnet20.py'),
        dict(name='ft', label='FT: FEED, 1 teacher', config=_fmnist_ft,
             teachers=['teacher:0']),
        dict(name='pfeed2', label='pFEED, 2 teachers',
             config='configs/feed/pfeed_resnet20_2xresnet20_fmnist.py',
             teachers=['teacher:0', 'teacher:1']),
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config='configs/feed/pfeed_resnet20_3xresnet20_fmnist.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
        dict(name='kd3', label='logit KD, 3 teachers averaged (no FEED)',
             config='configs/kd/kd_resnet20_3xresnet20_fmnist.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
        dict(name='pfeed3_kd', label='pFEED, 3 teachers + logit KD',
             config='configs/feed/pfeed_kd_resnet20_3xresnet20_fmnist.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
        # Sequential FEED: generation 1 learns from the student alone
        # (generation 0, same seed), generation g from generation g - 1;
        # each generation starts from a fresh initialisation (its own seed).
        *[dict(name=f'sfeed_g{g}',
               label=f'sFEED generation {g} (teacher: ' +
               ('student alone)' if g == 1 else f'generation {g - 1})'),
               config=_fmnist_ft,
               teachers=['run:student' if g == 1 else f'run:sfeed_g{g - 1}'],
               seeds=_sfeed_seeds, seed_offset=100 * g)
          for g in (1, 2, 3)],
    ],
    baselines=['student', 'ft'],
)
