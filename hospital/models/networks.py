"""The local models of patent module 3: a BP network (MLP) and a small VGG-11-pattern CNN."""

from __future__ import annotations

from torch import Tensor, nn

from hospital.models.heads import Heads, Outputs
from hospital.models.specs import VGG11_PATTERN, BPSpec, VGGSpec


class BPNetwork(nn.Module):
    """MLP from V1 to V2: Linear-ReLU(-Dropout) layers, then one linear layer per head."""

    def __init__(self, spec: BPSpec) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        width = spec.input_dim
        for hidden in spec.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if spec.dropout:
                layers.append(nn.Dropout(spec.dropout))
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.heads = Heads(width, spec.heads)

    def forward(self, x: Tensor) -> Outputs:
        """Logits per head for a (batch, input_dim) float tensor."""
        return self.heads(self.trunk(x))


class VGGNetwork(nn.Module):
    """VGG-11's conv pattern (3x3 conv + ReLU, 2x2 max-pools) with widths scaled down.

    No batch normalisation (VGG-11 configuration A has none), so every learnable value is
    a parameter and the flat update vector is the whole model state.
    """

    def __init__(self, spec: VGGSpec) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        channels = spec.in_channels
        for item in VGG11_PATTERN:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                width = max(1, int(item) // spec.width_divisor)
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU()]
                channels = width
        self.features = nn.Sequential(*layers)
        side = spec.image_size // 32
        classifier: list[nn.Module] = [
            nn.Flatten(),
            nn.Linear(channels * side * side, spec.classifier_hidden),
            nn.ReLU(),
        ]
        if spec.dropout:
            classifier.append(nn.Dropout(spec.dropout))
        self.classifier = nn.Sequential(*classifier)
        self.heads = Heads(spec.classifier_hidden, spec.heads)

    def forward(self, x: Tensor) -> Outputs:
        """Logits per head for a (batch, in_channels, image_size, image_size) float tensor."""
        return self.heads(self.classifier(self.features(x)))


MultiHeadNetwork = BPNetwork | VGGNetwork
