# Prune with MMRazor, recover with FEED (configs/pruning/README.md), on the
# full training split (55,000 images) with the short schedule the teachers
# were trained with (batch 128, lr 0.1, 4 epochs, one of warm-up, cosine),
# 3 seeds.
#     python tools/zoo.py configs/zoo/fmnist_pruning_full.py --jobs 2 \
#         --threads 1
_base_ = ['./_base_/fmnist_pruning_settings.py']

protocol = dict(
    title='Fashion-MNIST, GroupFisher-pruned ResNet-20 (half its FLOPs) '
    'recovered on the full training split',
    metric='accuracy/top1',
    seeds=3,
    seed_base=1000,
    teachers=_base_.teachers,
    student_cfg_options={
        'train_dataloader.dataset.num_per_class': None,
        'train_dataloader.batch_size': 128,
        'optim_wrapper.optimizer.lr': 0.1,
        # A checkpoint per epoch: a killed run resumes within minutes.
        'default_hooks.checkpoint.interval': 1},
    student_epochs=4,
    settings=_base_.settings,
    baselines=['finetune'],
)
