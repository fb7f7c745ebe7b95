"""Wide ResNet for CIFAR (Zagoruyko & Komodakis, BMVC 2016)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from .cifar_resnet import (DEFAULT_INIT_CFG, InitCfg, StagedCifarBackbone,
                           stage_depth)


class PreActBasicBlock(BaseModule):
    """Pre-activation wide basic block: BN-ReLU-conv3x3-BN-ReLU-dropout-
    conv3x3, plus the shortcut, with no activation after the sum.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv.
        drop_rate (float): Dropout probability between the two convs.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 drop_rate: float, norm_cfg: Dict) -> None:
        super().__init__()
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else None
        # As in the authors' code, the projection is a bare 1x1 conv: it is
        # applied to the already normalised and activated input.
        self.shortcut: Optional[nn.Conv2d] = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(
                in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(act)
        out = self.relu(self.bn2(self.conv1(act)))
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv2(out) + identity


@MODELS.register_module()
class WideResNet(StagedCifarBackbone):
    """Wide ResNet WRN-d-k of Zagoruyko & Komodakis, "Wide Residual
    Networks" (BMVC 2016), for 32x32 inputs.

    Depth 6n+4: a 3x3 stem conv ``conv1`` with 16 channels (no norm: the
    first block's pre-activation normalises it) and three stages
    ``layer1``..``layer3`` of n pre-activation basic blocks with 16k, 32k,
    64k channels and strides 1, 2, 2. After ``layer3`` come ``norm_final``
    (BN) and ``relu_final`` (ReLU). WRN-28-10, WRN-16-2 and WRN-40-2 have
    n = 4, 2, 6.

    The outputs of stages 0 and 1 are the raw (pre-activation) residual
    sums of ``layer1``/``layer2``; the output of stage 2 is the
    post-activation map ``relu(norm_final(layer3(x)))``, the network's last
    feature map. Feature recorders must therefore hook ``backbone.relu_final``
    (not ``backbone.layer3``) for that map; ``relu_final`` is not in-place,
    so a hook on ``backbone.norm_final`` still sees the pre-ReLU map.

    Args:
        depth (int): 6n+4 with n >= 1 (16, 22, 28, 40, ...).
        widen_factor (int): k. Defaults to 1.
        drop_rate (float): Dropout probability between the two convs of
            each block. Defaults to 0.0.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int] | int): Stages (0..2) whose outputs
            ``forward`` returns. Defaults to ``(2, )``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, i the stem and
            stages 1..i (3 includes ``norm_final``). Defaults to -1.
        norm_eval (bool): Keep BatchNorms in eval mode during training.
            Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): MMEngine init config.
            Defaults to Kaiming normal for convs, weight 1 / bias 0 for
            norms.
    """

    stem_channels = 16

    def __init__(self,
                 depth: int,
                 widen_factor: int = 1,
                 drop_rate: float = 0.0,
                 in_channels: int = 3,
                 out_indices: Union[Sequence[int], int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Dict = dict(type='BN'),
                 init_cfg: InitCfg = DEFAULT_INIT_CFG) -> None:
        super().__init__(out_indices, frozen_stages, norm_eval, init_cfg)
        num_blocks = stage_depth('WideResNet', depth, 6, 4,
                                 'WRN-16, WRN-28, WRN-40')
        if (isinstance(widen_factor, bool) or not isinstance(widen_factor, int)
                or widen_factor < 1):
            raise ValueError(f'WideResNet widen_factor must be a positive '
                             f'int, got {widen_factor!r}')
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(
                f'WideResNet drop_rate must be in [0, 1), got {drop_rate!r}')
        self.depth = depth
        self.widen_factor = widen_factor
        self._out_channels = [
            self.stem_channels * widen_factor * 2**i for i in range(3)
        ]

        self.conv1 = nn.Conv2d(
            in_channels, self.stem_channels, 3, 1, padding=1, bias=False)
        channels = self._make_stages(
            self.stem_channels, self._out_channels, num_blocks,
            lambda cin, cout, stride, _: PreActBasicBlock(
                cin, cout, stride, drop_rate, norm_cfg))
        self.norm_final = build_norm_layer(norm_cfg, channels)[1]
        self.relu_final = nn.ReLU(inplace=False)
        self._freeze_stages()

    def _stage_groups(self) -> List[List[nn.Module]]:
        return [[self.conv1], [self.layer1], [self.layer2],
                [self.layer3, self.norm_final]]

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)

    def _finish_last_stage(self, x: torch.Tensor) -> torch.Tensor:
        # Pre-activation blocks leave the last stage un-normalised: the
        # final BN + ReLU make the map that the head (and FEED) reads.
        return self.relu_final(self.norm_final(x))
