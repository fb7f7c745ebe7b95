# Prune with MMRazor, recover with FEED (configs/pruning/README.md), on the
# Fashion-MNIST CPU protocol's student data and recipe (500 training images,
# batch 16, lr 0.05, 30 epochs), 3 seeds; the accuracy before pruning (t0)
# and after it (the pruned t0, evaluated) are the teacher rows.
#     python tools/zoo.py configs/zoo/fmnist_pruning.py --jobs 2 --threads 1
_base_ = ['./_base_/fmnist_pruning_settings.py']

protocol = dict(
    title='Fashion-MNIST, GroupFisher-pruned ResNet-20 (half its FLOPs) '
    'recovered on 50 images per class',
    metric='accuracy/top1',
    seeds=3,
    seed_base=1000,
    teachers=_base_.teachers,
    settings=_base_.settings,
    baselines=['finetune'],
)
