# Runtime shared by every config. Types that live in MMPretrain carry the
# `mmpretrain.` prefix so the file works under default_scope 'mmpretrain'
# (plain training) and 'mmrazor' (FEED).
custom_imports = dict(imports=['feed_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # MMEngine's CheckpointHook with atomic writes: a run killed or out of
    # disk space mid-save keeps complete checkpoints and a last_checkpoint
    # that names one (feed_mm.engine.AtomicCheckpointHook).
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False),
    # Random generator states in checkpoints: a resumed run draws the same
    # augmentations as an uninterrupted one (feed_mm.engine.RNGStateHook).
    rng_state=dict(type='RNGStateHook'),
    # FEED's teacher fingerprints in checkpoints; a resume or load_from
    # with other teacher files stops (mismatch='warn' goes on).
    teacher_provenance=dict(type='TeacherProvenanceHook', mismatch='error'),
    # A NaN/Inf loss term stops the run before its optimizer step, naming
    # the term and the iteration (mode='skip' skips that step instead).
    nonfinite_loss=dict(type='NonFiniteLossHook', mode='error'),
)
custom_hooks = [
    # Empty data sets, labels out of range and images with the wrong number
    # of channels stop the run before its first iteration, named.
    dict(type='mmpretrain.DatasetCheckHook'),
    # Under DDP, the same BN statistics on every rank for validation and
    # checkpoints (frozen FEED teachers left out).
    dict(type='mmpretrain.FEEDSyncBuffersHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is there.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='mmpretrain.UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
