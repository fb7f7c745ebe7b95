from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError, loss_weight_value


def feature_factor(feature: torch.Tensor) -> torch.Tensor:
    """phi(x) = vec(x) / ||vec(x)||_2 per sample, in float32, so that maps
    of teachers run under autocast still give a full-precision loss."""
    return F.normalize(feature.float().flatten(1), p=2, dim=1)


@MODELS.register_module()
class FEEDLoss(nn.Module):
    """FEED's per-teacher feature loss (Park & Kwak), the factor-transfer
    distance between a translated student map and a teacher map:
    ``beta * || phi(F_t) - phi(tau(F_s)) ||_1`` with
    ``phi(x) = vec(x) / ||vec(x)||_2`` per sample.

    With ``reduction='mean'`` and equal shapes this is exactly MMRazor's
    ``FTLoss`` times beta, so FEED with one teacher is Factor Transfer.

    Args:
        loss_weight (float): beta, FEED's one loss weight. Defaults to 500.0,
            Factor Transfer's official value for the ``mean`` reduction.
        reduction (str): ``'mean'`` over batch and elements (Factor
            Transfer's official choice), or ``'sum'``: the paper's L1 norm
            per sample, averaged over the batch (beta must then shrink by
            about the feature size). Defaults to ``'mean'``.
        spatial_mismatch (str): A teacher map of another spatial size than
            the translated student map is ``'resize'`` d to it (bilinear), or
            refused (``'error'``). Defaults to ``'resize'``.
    """

    def __init__(self,
                 loss_weight: float = 500.0,
                 reduction: str = 'mean',
                 spatial_mismatch: str = 'resize') -> None:
        super().__init__()
        for key, value, allowed in (('reduction', reduction, ('mean', 'sum')),
                                    ('spatial_mismatch', spatial_mismatch,
                                     ('resize', 'error'))):
            if value not in allowed:
                raise FEEDConfigError(
                    f'FEEDLoss.{key}',
                    f'must be one of {allowed}, got {value!r}')
        self.loss_weight = loss_weight_value(loss_weight,
                                             'FEEDLoss.loss_weight')
        self.reduction = reduction
        self.spatial_mismatch = spatial_mismatch

    def forward(self,
                s_feature: torch.Tensor,
                t_feature: torch.Tensor,
                teacher: Optional[str] = None) -> torch.Tensor:
        """Weighted FEED loss between a translated student map and a teacher
        map (``teacher`` names the teacher in error messages)."""
        t_feature = self.align(s_feature, t_feature, teacher)
        distance = (feature_factor(s_feature) -
                    feature_factor(t_feature)).abs()
        loss = (distance.mean() if self.reduction == 'mean' else
                distance.sum(dim=1).mean())
        return self.loss_weight * loss

    def align(self,
              s_feature: torch.Tensor,
              t_feature: torch.Tensor,
              teacher: Optional[str] = None) -> torch.Tensor:
        """The teacher map, checked against the translated student map and
        resized to its spatial size when they differ."""
        who = f'teacher {teacher!r}' if teacher else 'the teacher'
        if s_feature.dim() != t_feature.dim() or s_feature.dim() < 2:
            raise FEEDConfigError(
                'FEEDLoss', f'cannot compare the translated student feature '
                f'of shape {tuple(s_feature.shape)} with the feature of {who} '
                f'of shape {tuple(t_feature.shape)}')
        if s_feature.shape[:2] != t_feature.shape[:2]:
            raise FEEDConfigError(
                'FEEDLoss', f'the translated student feature has shape '
                f'{tuple(s_feature.shape)} but the feature of {who} has '
                f'{tuple(t_feature.shape)}: batch and channels must match '
                '(check the translator out_channels)')
        size = s_feature.shape[2:]
        if t_feature.shape[2:] == size:
            return t_feature
        if self.spatial_mismatch == 'error' or s_feature.dim() != 4:
            raise FEEDConfigError(
                'FEEDLoss.spatial_mismatch', f'the feature of {who} has '
                f'spatial size {tuple(t_feature.shape[2:])} but the '
                f'translated student feature has {tuple(size)}; set '
                "spatial_mismatch='resize' to resize the teacher map, or "
                'record features of the same size')
        return F.interpolate(t_feature, size=tuple(size), mode='bilinear',
                             align_corners=False)
