# The parts the adapter x loss grid crosses (configs/feed_hint/README.md), as
# overrides of a FEED config's `model.distiller`: FEED's translator with or
# without BatchNorm, or FitNets' 1x1 conv + BN + ReLU (MMRazor's
# ConvModuleConnector, as MMRazor's FitNets config sets it); FEED's L1 on the
# normalised maps (the recipe's FEEDLoss) or FitNets' squared L2 on them
# (MMRazor's L2Loss, normalize=True). Each cell's loss weight is chosen on
# the val split: configs/_base_/schedules/fmnist_recipe.py, hint_weights.
translator_bn = dict(norm_cfg=dict(_delete_=True, type='BN'))
conv1x1 = dict(_delete_=True, type='ConvModuleConnector',
               norm_cfg=dict(type='BN'))
l2 = dict(_delete_=True, type='L2Loss', normalize=True)
