# The settings of the pruning protocols (fmnist_pruning.py,
# fmnist_pruning_full.py): GroupFisher pruned the committed teacher t0 to
# half its FLOPs (configs/pruning/); the pruned model, its inherited
# weights, is fine-tuned alone or recovered by FEED from the unpruned t0
# and its siblings t1, t2 (teacher set A).
teachers = dict(
    groups=[
        dict(label='teacher ResNet-20, set A (seeds 0-2; t0 is the one '
             'pruned)',
             configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                      for s in range(3)]),
        dict(label='t0 pruned by GroupFisher to half its FLOPs, before '
             'fine-tuning',
             configs=['configs/pruning/group_fisher_prune_resnet20_fmnist.py'
                      ]),
    ],
    weights='configs/zoo/teachers')
_t0 = ['teacher:0']
settings = [
    dict(name='finetune', label='pruned t0 fine-tuned alone',
         config='configs/pruning/group_fisher_finetune_resnet20_fmnist.py'),
    dict(name='ft', label='pruned t0 + FT from the unpruned t0',
         config='configs/pruning/ft_groupfisher_resnet20_resnet20_fmnist.py',
         teachers=_t0),
    dict(name='pfeed3',
         label='pruned t0 + pFEED-3 from the unpruned t0, t1, t2',
         config='configs/pruning/pfeed_groupfisher_resnet20_3xresnet20_'
         'fmnist.py', teachers=['teacher:0', 'teacher:1', 'teacher:2']),
    dict(name='fitnets', label='pruned t0 + FitNets from the unpruned t0',
         config='configs/pruning/fitnets_groupfisher_resnet20_resnet20_'
         'fmnist.py', teachers=_t0),
]
