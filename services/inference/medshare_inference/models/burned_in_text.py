"""burned-in-text: does a DICOM image carry burned-in text, and in which cells of a 4x4 grid.

Trained on real pydicom-data images with names, dates, IDs and scanner parameters
rendered onto them (models.text_render), plus pydicom-data images that carry real text;
evaluated on held-out image families, held-out fonts and deid-data's real ultrasounds
(models.detector_eval). The verdict gates release: the catalog withholds flagged images.

Training is deterministic for a seed and a thread count: a pool of samples is rendered
in chunks seeded by (seed, chunk), each step draws from it with a generator seeded by
(seed, step), and kernels are deterministic. It takes a few minutes on two cores, so
`train()` caches the result (models.trained_weights) keyed by the code, the seed and the packages.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from torch import nn

from medshare_inference.models.detector_data import (
    GRID,
    INPUT_SIZE,
    DetectorData,
    Pool,
    draw_pool,
    pool_batch,
)
from medshare_inference.models.detector_eval import (
    choose_threshold,
    evaluate_synthetic,
    file_verdicts,
    forward,
    real_metrics,
    synthetic_samples,
)
from medshare_inference.models.image_sources import (
    deid_real_images,
    held_out_real_images,
    load_pydicom_sources,
)
from medshare_inference.models.manifest import (
    AppliesTo,
    Architecture,
    ImageInput,
    ModelManifest,
    OutputField,
    OutputSchema,
    TrainingData,
)
from medshare_inference.models.text_detector_net import BurnedInTextNet
from medshare_inference.models.trained_weights import cached, training_key
from medshare_inference.models.training import DEFAULT_SEED, ProgressCallback, TrainedModel

NAME = "burned-in-text"
CACHEABLE = True
STEPS = 600
BATCH = 32
POOL_SIZE = 4096  # distinct rendered samples; each is seen ~5 times with fresh jitter
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
FRAMES = 3  # frames per clip looked at in serving and in the real-image evaluation
# The threshold is set so the detector finds this share of validation positives (drawn
# from training families), and never above 0.5: missing text leaks PHI, a false alarm
# only costs a data steward a look.
TARGET_RECALL = 0.95
VALIDATION_SAMPLES = 512
TEST_SAMPLES = 768
TRAIN_THREADS = min(2, os.cpu_count() or 1)
CODE_MODULES = (
    "medshare_inference.models.burned_in_text",
    "medshare_inference.models.detector_data",
    "medshare_inference.models.detector_eval",
    "medshare_inference.models.image_sources",
    "medshare_inference.models.images",
    "medshare_inference.models.text_detector_net",
    "medshare_inference.models.text_render",
)


def loss_fn(
    output: torch.Tensor, has_text: torch.Tensor, grid: torch.Tensor, known: torch.Tensor
) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits
    image_loss = bce(output[:, 0], has_text)
    cell_loss = bce(output[:, 1:], grid, reduction="none").mean(dim=1)
    return image_loss + (cell_loss * known).sum() / known.sum().clamp_min(1.0)


def fit(
    pool: Pool, seed: int, steps: int, batch: int, progress: ProgressCallback | None
) -> BurnedInTextNet:
    torch.manual_seed(seed)
    module = BurnedInTextNet(INPUT_SIZE, GRID)
    optimizer = torch.optim.AdamW(module.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps)
    module.train()
    for step in range(steps):
        drawn = pool_batch(pool, np.random.default_rng([seed, 0x57E9, step]), batch)
        optimizer.zero_grad()
        output = module(torch.from_numpy(drawn.images))
        loss = loss_fn(
            output,
            torch.from_numpy(drawn.has_text),
            torch.from_numpy(drawn.grid),
            torch.from_numpy(drawn.grid_known),
        )
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None:
            progress(step + 1, steps)
    return module.eval()


def _manifest(
    version: str, seed: int, pool_size: int, threshold: float, metrics: dict[str, float]
) -> ModelManifest:
    return ModelManifest(
        name=NAME,
        version=version,
        description="Whether a DICOM image carries burned-in text, and where (4x4 grid).",
        architecture=Architecture(
            id=BurnedInTextNet.ARCHITECTURE_ID, kwargs={"input_size": INPUT_SIZE, "grid": GRID}
        ),
        image_input=ImageInput(size=INPUT_SIZE, frames=FRAMES),
        output_schema=OutputSchema(
            task="grid_detection",
            value_field="probability",
            label_field="has_text",
            grid_field="grid",
            cells_field="text_cells",
            grid_size=GRID,
            threshold=threshold,
            fields=[
                OutputField(name="has_text", type="bool", description="burned-in text found"),
                OutputField(name="probability", type="float", description="p(text), 0..1"),
                OutputField(
                    name="grid", type="grid", description="p(text) per cell, rows top down"
                ),
                OutputField(
                    name="text_cells", type="grid", description="[row, col] of flagged cells"
                ),
            ],
        ),
        # Every image, whatever the modality: text can be burned into any of them.
        applies_to=[AppliesTo(kind="dicom", requires_metadata=["rows", "columns"])],
        training_data=TrainingData(
            source="pydicom-data images (real), text rendered with Pillow; deid-data for testing",
            n=pool_size + int(metrics.get("synthetic_n", 0)),
            n_train=pool_size,
            n_test=int(metrics.get("synthetic_n", 0)),
            split="by image family (pydicom-data), held-out fonts; deid-data never trained on",
            seed=seed,
            target="burned-in text present (image) and per 4x4 cell",
        ),
        metrics=metrics,
        framework=f"torch {torch.__version__}",
    )


def train_fresh(
    seed: int = DEFAULT_SEED,
    version: str = "1.0.0",
    progress: ProgressCallback | None = None,
    steps: int = STEPS,
    evaluate: bool = True,
    pool_size: int = POOL_SIZE,
) -> TrainedModel:
    started = time.perf_counter()
    sources = load_pydicom_sources()
    train_data, test_data = DetectorData("train", sources), DetectorData("test", sources)
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(TRAIN_THREADS)
    torch.use_deterministic_algorithms(True)
    try:
        pool = draw_pool(train_data, seed, pool_size, processes=TRAIN_THREADS)
        module = fit(pool, seed, steps, BATCH, progress)
        metrics: dict[str, float] = {}
        threshold = 0.5
        if evaluate:
            images, truth, _, _ = synthetic_samples(train_data, seed + 1, VALIDATION_SAMPLES)
            threshold = choose_threshold(truth, forward(module, images)[:, 0], TARGET_RECALL)
            metrics = evaluate_synthetic(module, test_data, seed + 2, TEST_SAMPLES, threshold)
            deid = file_verdicts(module, deid_real_images(), INPUT_SIZE, FRAMES)
            pydicom_real = file_verdicts(module, held_out_real_images(sources), INPUT_SIZE, FRAMES)
            metrics |= real_metrics(deid + pydicom_real, threshold, "real")
            metrics |= real_metrics(deid, threshold, "deid")
            metrics["threshold"] = threshold
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)
    manifest = _manifest(version, seed, pool_size, threshold, metrics)
    return TrainedModel(module, manifest, time.perf_counter() - started)


def train(
    seed: int = DEFAULT_SEED,
    version: str = "1.0.0",
    progress: ProgressCallback | None = None,
    cache: bool = True,
) -> TrainedModel:
    """Train (or reuse the cached result of training this exact code with this seed)."""
    if not cache:
        return train_fresh(seed, version, progress)
    from importlib.metadata import version as installed

    # Fonts render per Pillow version and the images come from these packages.
    packages = ("pillow", "numpy", "pydicom", "pydicom-data", "deid-data", "matplotlib")
    extra = "|".join([f"threads={TRAIN_THREADS}", *(f"{p}={installed(p)}" for p in packages)])
    key = training_key(CODE_MODULES, seed, extra)
    trained, _ = cached(NAME, key, version, lambda: train_fresh(seed, version, progress))
    return trained
