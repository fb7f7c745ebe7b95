from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError, loss_weight_value

_REDUCTIONS = ('mean', 'sum')
_SPATIAL_MISMATCH = ('resize', 'error')
_RESIZE_MODES = ('bilinear', 'nearest', 'area', 'bicubic')


def feature_factor(feature: torch.Tensor) -> torch.Tensor:
    """phi(x) = vec(x) / ||vec(x)||_2 per sample, in float32.

    Computed in float32 so that a teacher or student run under autocast
    still gets a full-precision loss.
    """
    return F.normalize(feature.float().flatten(1), p=2, dim=1)


def match_spatial_size(t_feature: torch.Tensor,
                       size: torch.Size,
                       mode: str = 'bilinear') -> torch.Tensor:
    """Resize a teacher feature map to ``size`` (the translated student
    map's spatial size). ``area`` averages when shrinking, ``bilinear``
    interpolates (``align_corners=False``)."""
    if t_feature.shape[2:] == size:
        return t_feature
    if mode in ('bilinear', 'bicubic'):
        return F.interpolate(
            t_feature, size=tuple(size), mode=mode, align_corners=False)
    return F.interpolate(t_feature, size=tuple(size), mode=mode)


@MODELS.register_module()
class FEEDLoss(nn.Module):
    """FEED's per-teacher feature loss (Park & Kwak), the factor-transfer
    distance between a translated student map and a teacher map:
    ``L = || phi(F_t) - phi(tau(F_s)) ||_1`` with
    ``phi(x) = vec(x) / ||vec(x)||_2`` per sample.

    With ``reduction='mean'`` and equal shapes this is exactly MMRazor's
    ``FTLoss`` (``nn.L1Loss`` on the factors), so FEED with one teacher is
    Factor Transfer.

    Args:
        loss_weight (float): beta, the weight of this term. Factor
            Transfer's value is 500 with the ``mean`` reduction. Defaults to
            1.0 (the FEED configs set the recipe's beta).
        reduction (str): ``'mean'``: mean over batch and elements (Factor
            Transfer's official choice). ``'sum'``: the paper's L1 norm per
            sample, averaged over the batch; beta must then shrink by about
            the feature size. Defaults to ``'mean'``.
        spatial_mismatch (str): What to do when the teacher map has another
            spatial size than the translated student map: ``'resize'`` the
            teacher map to the student's size, or raise (``'error'``).
            Defaults to ``'resize'``.
        resize_mode (str): Interpolation for ``'resize'``: ``'bilinear'``,
            ``'nearest'``, ``'area'`` or ``'bicubic'``. Defaults to
            ``'bilinear'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 spatial_mismatch: str = 'resize',
                 resize_mode: str = 'bilinear') -> None:
        super().__init__()
        for key, value, allowed in (
            ('reduction', reduction, _REDUCTIONS),
            ('spatial_mismatch', spatial_mismatch, _SPATIAL_MISMATCH),
            ('resize_mode', resize_mode, _RESIZE_MODES),
        ):
            if value not in allowed:
                raise FEEDConfigError(
                    f'FEEDLoss.{key}',
                    f'must be one of {allowed}, got {value!r}')
        self.loss_weight = loss_weight_value(loss_weight,
                                             'FEEDLoss.loss_weight')
        self.reduction = reduction
        self.spatial_mismatch = spatial_mismatch
        self.resize_mode = resize_mode

    def align(self,
              s_feature: torch.Tensor,
              t_feature: torch.Tensor,
              teacher: Optional[str] = None) -> torch.Tensor:
        """Check that the two maps can be compared and bring the teacher
        map to the student map's spatial size.

        Args:
            s_feature (Tensor): Translated student map ``(N, C, ...)``.
            t_feature (Tensor): Teacher map ``(N, C, ...)``.
            teacher (str, optional): Teacher name for error messages.

        Returns:
            Tensor: The teacher map, resized when needed.
        """
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
        if s_feature.shape[2:] == t_feature.shape[2:]:
            return t_feature
        if self.spatial_mismatch == 'error' or s_feature.dim() < 3:
            raise FEEDConfigError(
                'FEEDLoss.spatial_mismatch', f'the feature of {who} has '
                f'spatial size {tuple(t_feature.shape[2:])} but the '
                f'translated student feature has '
                f'{tuple(s_feature.shape[2:])}; set spatial_mismatch='
                "'resize' to resize the teacher map, or record features of "
                'the same size')
        return match_spatial_size(t_feature, s_feature.shape[2:],
                                  self.resize_mode)

    def forward(self,
                s_feature: torch.Tensor,
                t_feature: torch.Tensor,
                teacher: Optional[str] = None) -> torch.Tensor:
        """Weighted FEED loss between a translated student map and a teacher
        map.

        Args:
            s_feature (Tensor): Translated student map ``(N, C, ...)``.
            t_feature (Tensor): Teacher map ``(N, C, ...)``.
            teacher (str, optional): Teacher name, used in error messages.

        Returns:
            Tensor: Scalar loss.
        """
        t_feature = self.align(s_feature, t_feature, teacher)
        distance = (feature_factor(s_feature) -
                    feature_factor(t_feature)).abs()
        if self.reduction == 'mean':
            loss = distance.mean()
        else:
            loss = distance.sum(dim=1).mean()
        return self.loss_weight * loss
