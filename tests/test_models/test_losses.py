"""Tests of FEEDLoss, the per-teacher factor-transfer distance of FEED."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import feed_mm  # noqa: F401
from feed_mm.models.losses import FEEDLoss
from feed_mm.utils import FEEDConfigError


def hand_feed_loss(s, t, reduction, loss_weight=1.0):
    """FEED loss written out with explicit loops in float64."""
    s = s.detach().double().numpy()
    t = t.detach().double().numpy()
    n = s.shape[0]
    per_sample = []
    num_elements = 0
    for i in range(n):
        s_vec = [float(v) for v in s[i].reshape(-1)]
        t_vec = [float(v) for v in t[i].reshape(-1)]
        s_norm = math.sqrt(sum(v * v for v in s_vec))
        t_norm = math.sqrt(sum(v * v for v in t_vec))
        total = 0.0
        for a, b in zip(s_vec, t_vec):
            total += abs(a / s_norm - b / t_norm)
        per_sample.append(total)
        num_elements = len(s_vec)
    if reduction == 'mean':
        loss = sum(per_sample) / (n * num_elements)
    else:
        loss = sum(per_sample) / n
    return loss_weight * loss


@pytest.fixture
def pair():
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 2, 2, generator=gen)
    t = torch.randn(2, 3, 2, 2, generator=gen)
    return s, t


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('loss_weight', [1.0, 2.5])
def test_equals_hand_computation(pair, reduction, loss_weight):
    s, t = pair
    loss = FEEDLoss(loss_weight=loss_weight, reduction=reduction)(s, t)
    assert loss.dim() == 0
    expected = hand_feed_loss(s, t, reduction, loss_weight)
    assert loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_sum_is_feature_size_times_mean(pair):
    s, t = pair
    mean = FEEDLoss(reduction='mean')(s, t)
    total = FEEDLoss(reduction='sum')(s, t)
    # 3 * 2 * 2 = 12 elements per sample.
    assert total.item() == pytest.approx(12 * mean.item(), rel=1e-5)


def test_hand_computation_on_known_values():
    # Sample 0: s = (1, 0, ...), t = (0, 1, ...) after normalisation: the L1
    # distance of the factors is 2. Sample 1: same direction: 0.
    s = torch.zeros(2, 1, 2, 2)
    t = torch.zeros(2, 1, 2, 2)
    s[0, 0, 0, 0] = 3.0
    t[0, 0, 0, 1] = 0.5
    s[1] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    t[1] = 2 * s[1]
    assert FEEDLoss(loss_weight=1, reduction='sum')(s, t).item() == \
        pytest.approx(1.0)
    # beta defaults to Factor Transfer's 500 (mean reduction).
    assert FEEDLoss()(s, t).item() == pytest.approx(500 * 2 / 8)
    assert FEEDLoss(loss_weight=10, reduction='sum')(s, t).item() == \
        pytest.approx(10.0)


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_zero_for_identical_inputs(reduction):
    x = torch.randn(4, 5, 3, 3)
    loss = FEEDLoss(loss_weight=500, reduction=reduction)(x, x.clone())
    assert loss.item() == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize('loss_weight', [1.0, 500.0])
def test_mean_equals_mmrazor_ftloss(loss_weight):
    from mmrazor.models.losses import FTLoss
    s = torch.randn(4, 8, 4, 4)
    t = torch.randn(4, 8, 4, 4)
    ours = FEEDLoss(loss_weight=loss_weight, reduction='mean')(s, t)
    theirs = FTLoss(loss_weight=loss_weight)(s, t)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_invariant_to_positive_per_sample_scaling(pair, reduction):
    s, t = pair
    loss_fn = FEEDLoss(reduction=reduction)
    scale_s = torch.tensor([0.01, 7.0]).view(2, 1, 1, 1)
    scale_t = torch.tensor([3.0, 0.2]).view(2, 1, 1, 1)
    base = loss_fn(s, t)
    scaled = loss_fn(s * scale_s, t * scale_t)
    torch.testing.assert_close(scaled, base, rtol=1e-5, atol=1e-6)
    # A negative scale is not an invariance: it flips the direction.
    assert not torch.allclose(loss_fn(-s, t), base)


def test_gradient_reaches_student_feature(pair):
    s, t = pair
    s = s.clone().requires_grad_(True)
    FEEDLoss()(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_teacher_map_of_other_spatial_size_is_resized(reduction):
    s = torch.randn(2, 3, 4, 4)
    t = torch.randn(2, 3, 8, 8)
    loss = FEEDLoss(loss_weight=1, reduction=reduction)(s, t, teacher='t1')
    resized = F.interpolate(
        t, size=(4, 4), mode='bilinear', align_corners=False)
    expected = hand_feed_loss(s, resized, reduction)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # The choice of interpolation matters here: a nearest resize differs.
    nearest = F.interpolate(t, size=(4, 4), mode='nearest')
    assert abs(hand_feed_loss(s, nearest, reduction) - expected) > 1e-4


def test_teacher_map_upsampled_to_student_size():
    s = torch.randn(2, 3, 4, 4)
    t = torch.randn(2, 3, 2, 2)
    loss = FEEDLoss(loss_weight=1)(s, t)
    resized = F.interpolate(
        t, size=(4, 4), mode='bilinear', align_corners=False)
    assert loss.item() == pytest.approx(
        hand_feed_loss(s, resized, 'mean'), rel=1e-5)


def test_spatial_mismatch_error_names_teacher():
    loss_fn = FEEDLoss(spatial_mismatch='error')
    with pytest.raises(FEEDConfigError) as info:
        loss_fn(torch.randn(2, 3, 4, 4), torch.randn(2, 3, 8, 8),
                teacher='t1')
    assert "'t1'" in str(info.value)
    assert info.value.key == 'FEEDLoss.spatial_mismatch'
    # Equal sizes are fine with 'error'.
    x = torch.randn(2, 3, 4, 4)
    assert torch.isfinite(loss_fn(x, torch.randn(2, 3, 4, 4), teacher='t1'))


def test_channel_mismatch_raises():
    with pytest.raises(FEEDConfigError) as info:
        FEEDLoss()(torch.randn(2, 3, 4, 4), torch.randn(2, 5, 4, 4),
                   teacher='t0')
    assert "'t0'" in str(info.value)
    assert 'channels' in str(info.value)


def test_dimension_mismatch_raises():
    with pytest.raises(FEEDConfigError):
        FEEDLoss()(torch.randn(2, 3, 4, 4), torch.randn(2, 3))


@pytest.mark.parametrize('kwargs,key', [
    (dict(reduction='avg'), 'FEEDLoss.reduction'),
    (dict(reduction=None), 'FEEDLoss.reduction'),
    (dict(spatial_mismatch='crop'), 'FEEDLoss.spatial_mismatch'),
    # Found by tests/test_reliability/test_config_fuzz.py: accepted, they
    # made a negative or NaN beta (or a bare "could not convert" error).
    (dict(loss_weight=-1.0), 'FEEDLoss.loss_weight'),
    (dict(loss_weight=math.nan), 'FEEDLoss.loss_weight'),
    (dict(loss_weight=math.inf), 'FEEDLoss.loss_weight'),
    (dict(loss_weight='beta'), 'FEEDLoss.loss_weight'),
])
def test_bad_arguments_raise_at_construction(kwargs, key):
    with pytest.raises(FEEDConfigError) as info:
        FEEDLoss(**kwargs)
    assert info.value.key == key


def test_float32_result_for_half_inputs():
    s = torch.randn(2, 3, 2, 2)
    t = torch.randn(2, 3, 2, 2)
    loss = FEEDLoss(loss_weight=1)(s.half(), t.half())
    assert loss.dtype == torch.float32
    expected = hand_feed_loss(s.half().float(), t.half().float(), 'mean')
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_loop_reference_matches_vectorised_numpy(pair):
    s, t = pair
    s_np = s.double().numpy().reshape(2, -1)
    t_np = t.double().numpy().reshape(2, -1)
    s_np = s_np / np.linalg.norm(s_np, axis=1, keepdims=True)
    t_np = t_np / np.linalg.norm(t_np, axis=1, keepdims=True)
    assert hand_feed_loss(s, t, 'sum') == pytest.approx(
        np.abs(s_np - t_np).sum(1).mean())


def test_mean_of_per_teacher_kd_terms_is_kd_from_averaged_predictions():
    """configs/feed/_base_/fmnist_feed.py's ensemble_kd: MMRazor's
    KLDivergence against each teacher with a third of the weight has the
    gradient of one KL term against the teachers' averaged soft
    predictions (the two differ by the teachers' entropies only)."""
    from mmengine.config import Config
    from mmrazor.models.losses import KLDivergence

    from tests.helpers import REPO
    cfg = Config.fromfile(f'{REPO}/configs/feed/_base_/fmnist_feed.py')
    losses = {name: KLDivergence(**{k: v for k, v in spec.items()
                                    if k != 'type'})
              for name, spec in cfg.ensemble_kd.distill_losses.items()}
    tau = cfg.kd_tau
    torch.manual_seed(0)
    student = torch.randn(6, 10, requires_grad=True)
    teachers = [torch.randn(6, 10) * 3 for _ in cfg.kd_teachers]
    per_teacher = sum(losses[f'loss_kd_{name}'](student, logits)
                      for name, logits in zip(cfg.kd_teachers, teachers))
    grad_per_teacher, = torch.autograd.grad(per_teacher, student)

    averaged = torch.stack([t.div(tau).softmax(-1) for t in teachers]).mean(0)
    log_q = student.div(tau).log_softmax(-1)
    # tau^2 * KL(averaged || q), batch mean, as KLDivergence computes it.
    ensemble = tau**2 * (averaged * (averaged.log() - log_q)).sum(-1).mean()
    grad_ensemble, = torch.autograd.grad(ensemble, student)
    torch.testing.assert_close(grad_per_teacher, grad_ensemble)
    assert not torch.allclose(per_teacher, ensemble)  # entropies differ
