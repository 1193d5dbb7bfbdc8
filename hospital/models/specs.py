"""Typed descriptions of the local models: what every hospital must agree on to share updates.

A model spec is part of the consortium configuration: two hospitals with the same spec
and the same seed build bit-identical initial models, so their flat parameter vectors line
up value for value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HeadKind(StrEnum):
    """How one output head is read and trained.

    ``softmax``: one of ``size`` classes (diagnosis), cross-entropy on class indices.
    ``multilabel``: ``size`` independent yes/no outputs (complications, treatment
    components), binary cross-entropy on a 0/1 matrix.
    ``binary``: a single yes/no output (``size`` must be 1), binary cross-entropy.
    """

    SOFTMAX = "softmax"
    MULTILABEL = "multilabel"
    BINARY = "binary"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeadSpec(_Spec):
    """One output head of V2 (e.g. ``diagnosis``: softmax over the consortium's diseases)."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    kind: HeadKind
    size: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _sizes_fit_kind(self) -> HeadSpec:
        if self.kind is HeadKind.BINARY and self.size != 1:
            raise ValueError(f"head {self.name!r}: a binary head has size 1, got {self.size}")
        if self.kind is HeadKind.SOFTMAX and self.size < 2:
            raise ValueError(f"head {self.name!r}: a softmax head needs at least 2 classes")
        return self


def _unique_heads(heads: tuple[HeadSpec, ...]) -> tuple[HeadSpec, ...]:
    names = [h.name for h in heads]
    if len(set(names)) != len(names):
        raise ValueError(f"head names must be unique, got {names}")
    return heads


class BPSpec(_Spec):
    """The patent's BP network: an MLP from V1 (``input_dim``) through ``hidden`` to the heads."""

    kind: Literal["bp"] = "bp"
    input_dim: int = Field(ge=1, le=1_000_000)
    hidden: tuple[int, ...] = Field(default=(64, 32), description="width of each hidden layer")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    heads: tuple[HeadSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> BPSpec:
        if any(w < 1 for w in self.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {self.hidden}")
        _unique_heads(self.heads)
        return self


# The VGG-11 convolution pattern ("configuration A"): channel widths, "M" = 2x2 max-pool.
VGG11_PATTERN: tuple[int | str, ...] = (
    64,
    "M",
    128,
    "M",
    256,
    256,
    "M",
    512,
    512,
    "M",
    512,
    512,
    "M",
)


class VGGSpec(_Spec):
    """A VGG-11-pattern CNN for cases that carry an image, scaled to small inputs.

    Channel widths are VGG-11's divided by ``width_divisor``; the five max-pools take a
    32x32 image down to 1x1, so ``image_size`` must be a multiple of 32.
    """

    kind: Literal["vgg"] = "vgg"
    in_channels: int = Field(default=3, ge=1, le=64)
    image_size: int = Field(default=32, ge=32, le=512)
    width_divisor: int = Field(default=8, ge=1, le=64)
    classifier_hidden: int = Field(default=64, ge=1, le=8192)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    heads: tuple[HeadSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> VGGSpec:
        if self.image_size % 32:
            raise ValueError(f"image_size must be a multiple of 32, got {self.image_size}")
        _unique_heads(self.heads)
        return self


ModelSpec = Annotated[BPSpec | VGGSpec, Field(discriminator="kind")]
