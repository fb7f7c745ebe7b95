# Sequential FEED on SklearnDigits: ResNet-20 generations 0, 1, 2, each
# distilled from the previous one (tools/train.py runs the generations
# because of the `sfeed` field; tools/sfeed.py gives the same with flags).
_base_ = ['./ft_resnet20_resnet20_digits.py']

# Generation 0 trains alone; set lineage=True to distil generation k from
# all earlier generations at once (pFEED over the lineage).
sfeed = dict(generations=3, lineage=False, warm_start=False)
work_dir = 'work_dirs/sfeed_resnet20_digits'
