# Prune with MMRazor, recover with FEED (configs/pruning/README.md), on the
# full training split (55,000 images) with the short schedule the teachers
# were trained with (batch 128, lr 0.1, 4 epochs, one of warm-up, cosine),
# 3 seeds.
#     python tools/zoo.py configs/zoo/fmnist_pruning_full.py --jobs 2 \
#         --threads 1
_base_ = [
    './_base_/fmnist_pruning_settings.py',
    './_base_/fmnist_full_split.py',
]

protocol = dict(
    title='Fashion-MNIST, GroupFisher-pruned ResNet-20 (half its FLOPs) '
    'recovered on the full training split',
    metric='accuracy/top1',
    seeds=3,
    seed_base=1000,
    teachers=_base_.teachers,
    student_cfg_options=_base_.full_split_options,
    student_epochs=_base_.full_split_epochs,
    settings=_base_.settings,
    baselines=['finetune'],
)
