import pytest
import torch
import torch.nn.functional as F

import feed_mm  # noqa: F401
from feed_mm.models import FEEDLoss
from feed_mm.utils import FEEDConfigError


def _hand_factor(x):
    flat = [[float(v) for v in sample.flatten()] for sample in x]
    return [[v / sum(u * u for u in row)**0.5 for v in row] for row in flat]


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_equals_hand_computation(reduction):
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)
    fs, ft = _hand_factor(s), _hand_factor(t)
    per_sample = [sum(abs(a - b) for a, b in zip(rs, rt))
                  for rs, rt in zip(fs, ft)]
    expected = (sum(per_sample) / (2 * 12) if reduction == 'mean' else
                sum(per_sample) / 2)
    loss = FEEDLoss(loss_weight=3.0, reduction=reduction)(s, t)
    assert loss.item() == pytest.approx(3.0 * expected, rel=1e-5)


def test_zero_for_identical_and_scale_invariant():
    x = torch.randn(4, 8, 3, 3)
    assert FEEDLoss()(x, x.clone()).item() == 0.0
    y = torch.randn(4, 8, 3, 3)
    scales = torch.tensor([1.0, 2.0, 5.0, 0.1]).view(4, 1, 1, 1)
    assert torch.allclose(FEEDLoss()(x, y), FEEDLoss()(x * scales, y))


def test_equals_mmrazor_ftloss():
    from mmrazor.models.losses import FTLoss
    s, t = torch.randn(3, 16, 4, 4), torch.randn(3, 16, 4, 4)
    ours = FEEDLoss(loss_weight=500.0)(s, t)
    theirs = FTLoss(loss_weight=500.0)(s, t)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_teacher_map_is_resized_or_refused():
    s, t = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4)
    resized = F.interpolate(t, size=(8, 8), mode='bilinear',
                            align_corners=False)
    assert torch.allclose(FEEDLoss()(s, t), FEEDLoss()(s, resized))
    with pytest.raises(FEEDConfigError, match="teacher 't1'"):
        FEEDLoss(spatial_mismatch='error')(s, t, teacher='t1')


def test_channel_mismatch_and_bad_arguments():
    with pytest.raises(FEEDConfigError, match='channels'):
        FEEDLoss()(torch.randn(2, 4, 4, 4), torch.randn(2, 5, 4, 4))
    for kwargs in (dict(reduction='max'), dict(spatial_mismatch='crop'),
                   dict(resize_mode='lanczos')):
        with pytest.raises(FEEDConfigError, match=next(iter(kwargs))):
            FEEDLoss(**kwargs)
