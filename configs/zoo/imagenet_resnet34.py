# The paper's ImageNet experiment: ResNet-34 students and teachers. Three
# teachers trained alone, then the student alone, FT (FEED N=1) and pFEED
# with 2 and 3 teachers, one seed (an ImageNet run is days of GPU time).
# Needs data/imagenet and GPUs:
#     python tools/zoo.py configs/zoo/imagenet_resnet34.py --device cuda
protocol = dict(
    title='ImageNet-1k, ResNet-34 (paper setting)',
    seeds=1,
    seed_base=1000,
    teachers=dict(label='teacher ResNet-34',
                  configs=[f'configs/teachers/imagenet_resnet34_s{s}.py'
                           for s in range(3)]),
    settings=[
        dict(name='student', label='student ResNet-34 alone',
             config='configs/teachers/imagenet_resnet34_s0.py'),
        dict(name='ft', label='FT: FEED, 1 teacher',
             config='configs/feed/ft_resnet34_resnet34_imagenet.py',
             teachers=['teacher:0']),
        dict(name='pfeed2', label='pFEED, 2 teachers',
             config='configs/feed/pfeed_resnet34_2xresnet34_imagenet.py',
             teachers=['teacher:0', 'teacher:1']),
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config='configs/feed/pfeed_resnet34_3xresnet34_imagenet.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
    ],
    baselines=['student', 'ft'],
)
