"""CIFAR ResNeXt (Xie et al., CVPR 2017, section 5.3)."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from .cifar_resnet import (DEFAULT_INIT_CFG, InitCfg, StagedCifarBackbone,
                           stage_depth)


class ResNeXtBottleneck(BaseModule):
    """Aggregated-transform bottleneck: 1x1 conv to ``width``, grouped 3x3
    conv (carrying the stride), 1x1 conv to ``out_channels``, each with BN,
    ReLU after the first two and after the sum with the shortcut.

    Args:
        in_channels (int): Input channels.
        width (int): Channels of the grouped conv (cardinality x d).
        out_channels (int): Output channels.
        groups (int): Cardinality.
        stride (int): Stride of the grouped conv.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: int, width: int, out_channels: int,
                 groups: int, stride: int, norm_cfg: Dict) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, width)[1]
        self.conv2 = nn.Conv2d(
            width, width, 3, stride, padding=1, groups=groups, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, width)[1]
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample: Optional[nn.Module] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNeXt(StagedCifarBackbone):
    """CIFAR ResNeXt of Xie et al., "Aggregated Residual Transformations for
    Deep Neural Networks" (CVPR 2017), section 5.3.

    Depth 9n+2: a 3x3 stem conv (``conv1``, ``bn1``, ReLU) with 64 channels
    and three stages ``layer1``..``layer3`` of n bottleneck blocks with 256,
    512, 1024 output channels and strides 1, 2, 2. The grouped 3x3 conv of
    stage i (0-based) has ``cardinality * base_width * 2**i`` channels, i.e.
    the width per group doubles with the output channels as in the paper's
    template. ResNeXt-29 (n = 3) 16x64d and 8x64d are the paper's CIFAR
    models. Each stage's output is the post-ReLU output of its last block,
    so a recorder on ``backbone.layer3`` sees the last feature map.

    Args:
        depth (int): 9n+2 with n >= 1 (29 for ResNeXt-29).
        cardinality (int): Number of groups of the 3x3 convs. Defaults to
            16.
        base_width (int): Channels per group in stage 1 (d). Defaults to 64.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int] | int): Stages (0..2) whose outputs
            ``forward`` returns. Defaults to ``(2, )``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, i the stem and
            stages 1..i. Defaults to -1.
        norm_eval (bool): Keep BatchNorms in eval mode during training.
            Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): MMEngine init config.
            Defaults to Kaiming normal for convs, weight 1 / bias 0 for
            norms.
    """

    stem_channels = 64
    stage_channels = (256, 512, 1024)

    def __init__(self,
                 depth: int,
                 cardinality: int = 16,
                 base_width: int = 64,
                 in_channels: int = 3,
                 out_indices: Union[Sequence[int], int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Dict = dict(type='BN'),
                 init_cfg: InitCfg = DEFAULT_INIT_CFG) -> None:
        super().__init__(out_indices, frozen_stages, norm_eval, init_cfg)
        num_blocks = stage_depth('CifarResNeXt', depth, 9, 2, '29')
        for key, value in (('cardinality', cardinality), ('base_width',
                                                          base_width)):
            if isinstance(value, bool) or not isinstance(value,
                                                         int) or value < 1:
                raise ValueError(
                    f'CifarResNeXt {key} must be a positive int, got '
                    f'{value!r}')
        self.depth = depth
        self.cardinality = cardinality
        self.base_width = base_width

        self._out_channels = list(self.stage_channels)
        self._make_stem(in_channels, self.stem_channels, norm_cfg)
        self._make_stages(
            self.stem_channels, self.stage_channels, num_blocks,
            lambda cin, cout, stride, i: ResNeXtBottleneck(
                cin, cardinality * base_width * 2**i, cout, cardinality,
                stride, norm_cfg))
        self._freeze_stages()
