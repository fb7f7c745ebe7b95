# FEED's method values (the spec's defaults), in one place so that a
# correction is one edit. Every FEED config inherits this file; a FEED
# setting also sets default_scope = 'mmrazor' and the FEED val/test loops.
feed_distiller = dict(
    type='FEEDDistiller',
    # The FEED maps (student_feature, teacher_feature) are the distiller's
    # default, 'auto': the last spatial map before global pooling (the last
    # element of the tuple a CNN backbone returns; a vision transformer's
    # last tokens on its patch grid), found by the dry run and logged.
    # Three 3x3 convs C_s -> C_s -> C_t -> C_t, LeakyReLU(0.1), no norm
    # (Factor Transfer's official translator; norm_cfg=dict(type='BN') gives
    # MMRazor's Translator).
    translator=dict(
        type='FEEDTranslator',
        num_convs=3,
        norm_cfg=None,
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    # L_n = || phi(F_t) - phi(tau_n(F_s)) ||_1, mean reduction, beta = 500
    # (Factor Transfer's official value for the mean reduction). A teacher
    # map of another spatial size is resized (bilinear) to the student's.
    feed_loss=dict(
        type='FEEDLoss',
        loss_weight=500.0,
        reduction='mean',
        spatial_mismatch='resize'),
    # L = CE + beta * sum_n L_n: a plain sum over teachers.
    teacher_reduction='sum',
)

# The FEED algorithm around a student: a setting's base completes it with
# `architecture` (its student), `input_shape` and, per experiment, `teachers`.
# It is not `model` here because a setting also inherits its student's model
# file, and one config's bases may not share a key.
feed_model = dict(
    type='FEEDDistill',
    teachers=dict(),
    distiller=feed_distiller,
    # The fast default: teachers in fp16 on CUDA, in bf16 on a CPU with
    # native bf16 (teacher phase 1.5-1.8x, step 1.0-1.3x on the 2-core
    # benchmark CPU), their maps cast back so the losses stay fp32; the FEED
    # terms move by < 0.1 % (docs/benchmark.md). teacher_autocast=None is the
    # exact fp32 path.
    teacher_autocast='auto',
)
