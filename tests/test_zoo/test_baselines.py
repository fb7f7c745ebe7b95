"""The zoo's peers and FEED ablations: their two losses by hand, and every
Fashion-MNIST peer and ablation config, and the heterogeneous pFEED,
trains one iteration on real images (random teachers)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from feed_mm.apis import load_config
from feed_mm.models.losses import FEEDLoss
from feed_mm.zoo.baselines import EnsembleTargetFEEDLoss, TeacherEnsembleLoss
from tests.helpers import build_razor_model

PEERS = [
    'configs/kd/kd_resnet20_resnet20_fmnist.py',
    'configs/dkd/dkd_resnet20_resnet20_fmnist.py',
    'configs/dkd/dkd_resnet20_3xresnet20_fmnist.py',
    'configs/dist/dist_resnet20_resnet20_fmnist.py',
    'configs/dist/dist_resnet20_3xresnet20_fmnist.py',
    'configs/fitnets/fitnets_resnet20_resnet20_fmnist.py',
    'configs/at/at_resnet20_resnet20_fmnist.py',
    'configs/feed/pfeed_linear_resnet20_3xresnet20_fmnist.py',
    'configs/feed/pfeed_ensfirst_resnet20_3xresnet20_fmnist.py',
    # Not a peer: teachers of three architectures (their own channels).
    'configs/feed/pfeed_resnet20_hetero_fmnist.py',
    # FEED's frame with FitNets' parts, and the multi-teacher hints.
    *[f'configs/feed_hint/hint_{cell}_resnet20_resnet20_fmnist.py'
      for cell in ('translatorbn_l1', 'conv1x1_l1', 'translator_l2',
                   'translatorbn_l2', 'conv1x1_l2')],
    *[f'configs/feed_hint/hint_conv1x1_l2_resnet20_{n}xresnet20_fmnist.py'
      for n in (2, 3, 5)],
    'configs/feed_hint/hint_conv1x1_l1_resnet20_3xresnet20_fmnist.py',
    'configs/feed/pfeed_fitnets_resnet20_3xresnet20_fmnist.py',
    'configs/at/at_resnet20_3xresnet20_fmnist.py',
]


def test_teacher_ensemble_loss_is_the_loss_of_the_averaged_logits():
    from mmrazor.models.losses import DISTLoss
    student, t0, t1 = torch.randn(3, 4, 10).unbind(0)
    loss = TeacherEnsembleLoss(dict(type='DISTLoss', tau=2.0), 'logits_T')
    expected = DISTLoss(tau=2.0)(student, (t0 + t1) / 2)
    torch.testing.assert_close(
        loss(logits_S=student, logits_T_t0=t0, logits_T_t1=t1), expected)
    with pytest.raises(TypeError, match='logits_T_<teacher>'):
        loss(logits_S=student, preds_T_t0=t0)


def test_ensemble_target_is_the_mean_of_the_normalised_teacher_maps():
    s, t0, t1 = torch.randn(3, 2, 4, 3, 3).unbind(0)
    loss = EnsembleTargetFEEDLoss()
    # One teacher: FEED's own loss.
    torch.testing.assert_close(loss(s, t_feature_t0=t0), FEEDLoss()(s, t0))
    target = (F.normalize(t0.flatten(1)) + F.normalize(t1.flatten(1))) / 2
    expected = 500 * (F.normalize(s.flatten(1)) - target).abs().mean()
    torch.testing.assert_close(loss(s, t_feature_t0=t0, t_feature_t1=t1),
                               expected)


@pytest.fixture(scope='module')
def fmnist_batch(fashion_mnist_root):
    """Four real training images, as a data loader gives them."""
    from mmpretrain.registry import DATASETS
    cfg = load_config(PEERS[0], '/tmp/unused', None, 'none')
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    dataset_cfg.update(data_root=fashion_mnist_root, num_per_class=1)
    dataset = DATASETS.build(dataset_cfg)
    samples = [dataset[i] for i in range(4)]
    return dict(inputs=[s['inputs'] for s in samples],
                data_samples=[s['data_samples'] for s in samples])


@pytest.mark.parametrize('config', PEERS)
def test_peer_and_ablation_configs_train_one_iteration(config, fmnist_batch):
    cfg = load_config(config, '/tmp/unused', None, 'none')
    model = cfg.model.to_dict()
    model.update(allow_random_teachers=True,
                 data_preprocessor=cfg.data_preprocessor.to_dict())
    for teacher in model['teachers'].values():
        teacher['ckpt'] = None
    algo = build_razor_model(model)
    optimizer = OptimWrapper(torch.optim.SGD(
        [p for p in algo.parameters() if p.requires_grad], lr=0.01))
    log_vars = algo.train_step(fmnist_batch, optimizer)
    terms = [k for k in log_vars if k.startswith('distill.')]
    assert terms and all(torch.isfinite(torch.as_tensor(log_vars[k]))
                         for k in log_vars)
    extra = set(cfg.model.distiller.get('distill_losses', {}))
    assert {f'distill.{name}' for name in extra} <= set(terms)
