"""The network used by the tabular models, and how state dicts are (de)serialised.

Feature and target standardisation are buffers, so they travel inside the state dict
and a saved artifact predicts from raw clinical units on its own.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import torch
from torch import nn

from medshare_inference.models.manifest import Architecture


class StandardizedMLP(nn.Module):
    """(x - mean) / std -> MLP (or a linear layer when `hidden` is empty) -> * y_std + y_mean."""

    ARCHITECTURE_ID = "standardized-mlp/1"

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, n_features: int, hidden: Sequence[int] = (), n_outputs: int = 1):
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(n_features))
        self.register_buffer("x_std", torch.ones(n_features))
        self.register_buffer("y_mean", torch.zeros(n_outputs))
        self.register_buffer("y_std", torch.ones(n_outputs))
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*layers)

    def fit_standardization(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        """Set the buffers from training data; y only for regression targets."""
        with torch.no_grad():
            self.x_mean.copy_(x.mean(dim=0))
            # A constant column would divide by zero; scale it by one instead.
            std = x.std(dim=0)
            self.x_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))
            if y is not None:
                target = y.reshape(len(y), -1)
                self.y_mean.copy_(target.mean(dim=0))
                self.y_std.copy_(target.std(dim=0).clamp_min(1e-12))

    def standardized_output(self, x: torch.Tensor) -> torch.Tensor:
        """Output before de-standardisation: what regression losses compare."""
        output: torch.Tensor = self.net((x - self.x_mean) / self.x_std)
        return output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.standardized_output(x) * self.y_std + self.y_mean


def _text_detector(**kwargs: object) -> nn.Module:
    from medshare_inference.models.text_detector_net import BurnedInTextNet

    return BurnedInTextNet(**kwargs)  # type: ignore[arg-type]


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    StandardizedMLP.ARCHITECTURE_ID: StandardizedMLP,
    "burned-in-text-cnn/1": _text_detector,
}


class UnknownArchitectureError(ValueError):
    pass


def build_module(architecture: Architecture) -> nn.Module:
    try:
        factory = ARCHITECTURES[architecture.id]
    except KeyError:
        raise UnknownArchitectureError(f"unknown architecture: {architecture.id}") from None
    return factory(**architecture.kwargs)


def serialize_weights(module: nn.Module) -> bytes:
    """torch.save of the CPU state dict; byte-identical for identical tensors."""
    state = {key: value.detach().cpu() for key, value in module.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def deserialize_weights(data: bytes, device: torch.device) -> dict[str, torch.Tensor]:
    # weights_only: a state dict needs no pickled code, and refusing it closes that hole.
    state: dict[str, torch.Tensor] = torch.load(
        io.BytesIO(data), map_location=device, weights_only=True
    )
    return state
