"""MMRazor's pruning flow with FEED, on a tiny schedule: GroupFisher prunes
the trained Fashion-MNIST teacher by channel importance, the pruned model
(MMRazor's GroupFisherSubModel, its inherited weights) fine-tuned alone
exports its structure as MMRazor does, pFEED-3 recovers it from the
unpruned teacher and its siblings, and the exported student serves through
MMPretrain's get_model and ImageClassificationInferencer."""
import glob
import json
import os.path as osp

import numpy as np
import torch

from feed_mm.apis.export import export_student
from tests.helpers import REPO, train_in_process

PRUNE = 'configs/pruning/group_fisher_prune_resnet20_fmnist.py'
FINETUNE = 'configs/pruning/group_fisher_finetune_resnet20_fmnist.py'
RECOVER = 'configs/pruning/pfeed_groupfisher_resnet20_3xresnet20_fmnist.py'
DEPLOY = 'configs/pruning/group_fisher_deploy_resnet20_fmnist.py'


def test_prune_recover_with_feed_and_serve(tmp_path, fashion_mnist_root):
    # One channel pruned per iteration; the checkpoint saved once the model
    # has lost a little of its FLOPs.
    prune_dir = train_in_process(PRUNE, str(tmp_path / 'prune'), [
        'train_dataloader.batch_size=8', 'model.interval=1',
        'custom_hooks.3.interval=1', 'custom_hooks.3.save_ckpt_thr=[0.995]',
        'custom_hooks.3.early_stop=False'
    ])
    [pruned] = glob.glob(osp.join(prune_dir, 'flops_*.pth'))

    # GroupFisherSubModel writes the structure into its run's work dir.
    finetune_dir = train_in_process(FINETUNE, str(tmp_path / 'finetune'), [
        f'model.algorithm.init_cfg.checkpoint={pruned}'])
    structure = osp.join(finetune_dir, 'fix_subnet.json')
    feed_dir = train_in_process(RECOVER, str(tmp_path / 'feed'), [
        f'model.architecture.algorithm.init_cfg.checkpoint={pruned}'])
    with open(structure) as f:
        kept = json.load(f)
    unpruned = {unit: int(unit.rpartition('_')[2]) for unit in kept}
    assert any(kept[unit] < unpruned[unit] for unit in kept)

    student = tmp_path / 'student.pth'
    export_student(osp.join(feed_dir, 'epoch_1.pth'), str(student))

    # The plain pruned model of the run's structure, as a user serves it.
    config = tmp_path / 'deploy.py'
    config.write_text(f'_base_ = [{osp.join(REPO, DEPLOY)!r}]\n'
                      f'model = dict(fix_subnet={structure!r})\n')
    import mmpretrain
    from mmpretrain import ImageClassificationInferencer
    model = mmpretrain.get_model(str(config), pretrained=str(student))
    weights = torch.load(student, map_location='cpu',
                         weights_only=True)['state_dict']
    assert model.state_dict().keys() == weights.keys()
    assert all(torch.equal(model.state_dict()[k], v)
               for k, v in weights.items())
    image = np.random.default_rng(0).integers(0, 255, (28, 28, 1),
                                              dtype=np.uint8)
    inferencer = ImageClassificationInferencer(str(config),
                                               pretrained=str(student))
    [prediction] = inferencer(image)
    assert 0 <= prediction['pred_label'] < 10
    assert len(prediction['pred_scores']) == 10
