"""Losses of the zoo's multi-teacher baselines and FEED ablations, which
MMRazor does not register: they live with the zoo, not in FEED's model
code. Configs load them with
``custom_imports = dict(imports=['feed_mm.zoo.baselines'])`` and map each
teacher's record to its own forward argument, ``{target}_{teacher}``::

    distill_losses=dict(loss_dist=dict(
        type='TeacherEnsembleLoss', target='logits_T',
        loss=dict(type='DISTLoss', tau=1))),
    loss_forward_mappings=dict(loss_dist=dict(
        logits_S=dict(recorder='logits', from_student=True),
        logits_T_t0=dict(recorder='logits', from_student=False,
                         from_teacher='t0'),
        logits_T_t1=...))
"""
from typing import Dict, List

import torch
import torch.nn as nn
from mmrazor.registry import MODELS

from feed_mm.models.distillers.validation import build_part
from feed_mm.models.losses.feed_loss import feature_factor


def pop_teacher_args(kwargs: Dict[str, torch.Tensor],
                     target: str) -> List[torch.Tensor]:
    """Remove and return the ``{target}_{teacher}`` arguments, in the order
    the mapping gives them."""
    prefix = f'{target}_'
    names = [name for name in kwargs if name.startswith(prefix)]
    if not names:
        raise TypeError(f'no teacher arguments {prefix}<teacher> given '
                        f'(arguments: {", ".join(kwargs)})')
    return [kwargs.pop(name) for name in names]


@MODELS.register_module()
class TeacherEnsembleLoss(nn.Module):
    """Any MMRazor logit loss (``DISTLoss``, ``DKDLoss``, ...) against the
    teachers' averaged logits: the multi-teacher variant of a single-teacher
    method, one target from the ensemble's mean prediction.

    Args:
        loss (dict): The wrapped loss, e.g. ``dict(type='DKDLoss', tau=4)``.
        target (str): The wrapped loss's teacher argument (``preds_T`` for
            KD/DKD, ``logits_T`` for DIST); the teachers' records are mapped
            to ``{target}_{teacher}``.
    """

    def __init__(self, loss: Dict, target: str = 'preds_T') -> None:
        super().__init__()
        self.loss = build_part(loss, 'TeacherEnsembleLoss.loss')
        self.target = target

    def forward(self, **kwargs: torch.Tensor) -> torch.Tensor:
        teachers = pop_teacher_args(kwargs, self.target)
        kwargs[self.target] = torch.stack(teachers).mean(0)
        return self.loss(**kwargs)


@MODELS.register_module()
class EnsembleTargetFEEDLoss(nn.Module):
    """The "ensemble first" ablation of FEED: one translator towards the
    average of the teachers' normalised maps,
    ``|| mean_n phi(F_tn) - phi(tau(F_s)) ||_1`` (mean reduction), instead
    of one translator and one term per teacher.

    Args:
        loss_weight (float): beta. Defaults to 500.0, FEED's recipe value.
    """

    def __init__(self, loss_weight: float = 500.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, s_feature: torch.Tensor,
                **kwargs: torch.Tensor) -> torch.Tensor:
        teachers = pop_teacher_args(kwargs, 't_feature')
        target = torch.stack([feature_factor(t) for t in teachers]).mean(0)
        distance = (feature_factor(s_feature) - target).abs()
        return self.loss_weight * distance.mean()
