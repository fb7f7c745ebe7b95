# The paper's CIFAR-100 experiment for WRN-28-10 (students and teachers of one
# architecture): three teachers trained alone, then over 3 seeds the
# student alone, FT (FEED N=1), pFEED with 2 and 3 teachers, and sFEED
# generations 1-3. Needs data/cifar100 and a GPU:
#     python tools/zoo.py configs/zoo/cifar100_wrn28_10.py --device cuda
_arch = 'wrn28_10'
_ft = f'configs/feed/ft_{_arch}_{_arch}_cifar100.py'
protocol = dict(
    title='CIFAR-100, WRN-28-10 (paper setting)',
    seeds=3,
    seed_base=1000,
    teachers=dict(label='teacher WRN-28-10',
                  configs=[f'configs/teachers/cifar100_{_arch}_s{s}.py'
                           for s in range(3)]),
    settings=[
        dict(name='student', label='student WRN-28-10 alone',
             config=f'configs/teachers/cifar100_{_arch}_s0.py'),
        dict(name='ft', label='FT: FEED, 1 teacher', config=_ft,
             teachers=['teacher:0']),
        dict(name='pfeed2', label='pFEED, 2 teachers',
             config=f'configs/feed/pfeed_{_arch}_2x{_arch}_cifar100.py',
             teachers=['teacher:0', 'teacher:1']),
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config=f'configs/feed/pfeed_{_arch}_3x{_arch}_cifar100.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
        *[dict(name=f'sfeed_g{g}', label=f'sFEED generation {g}', config=_ft,
               teachers=['run:student' if g == 1 else f'run:sfeed_g{g - 1}'],
               seed_offset=100 * g) for g in (1, 2, 3)],
    ],
    baselines=['student', 'ft'],
)
