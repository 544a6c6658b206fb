"""select_models: routing by what manifests declare, not by per-model code."""

from __future__ import annotations

from medshare_inference.features import FeatureSpec, InputSchema
from medshare_inference.models import TrainedModel
from medshare_inference.models.manifest import AppliesTo, ModelManifest
from medshare_inference.registry import select_models


def dicom_manifest(template: ModelManifest) -> ModelManifest:
    return template.model_copy(
        update={
            "name": "burned-in-text",
            "applies_to": [AppliesTo(kind="dicom", modalities=["US", "SC"])],
            "input_schema": InputSchema(features=[FeatureSpec(name="x", minimum=0, maximum=1)]),
        }
    )


def test_routes_by_kind_group_and_modality(
    classifier: TrainedModel, regressor: TrainedModel
) -> None:
    manifests = [classifier.manifest, regressor.manifest, dicom_manifest(regressor.manifest)]
    cytology = {"mean_radius": 12.0}
    metabolic = {"bmi": 30.0, "age": 50.0}
    assert select_models(manifests, "case_report", {}, cytology) == ["breast-cancer-malignancy"]
    assert select_models(manifests, "case_report", {}, metabolic) == ["diabetes-progression"]
    assert select_models(manifests, "case_report", {}, {**cytology, **metabolic}) == [
        "breast-cancer-malignancy",
        "diabetes-progression",
    ]
    assert select_models(manifests, "case_report", {}, {}) == []
    assert select_models(manifests, "case_report", {"feature_groups": ["metabolic"]}) == [
        "diabetes-progression"
    ]
    assert select_models(manifests, "dicom", {"modality": "us"}) == ["burned-in-text"]
    assert select_models(manifests, "dicom", {"Modality": "CT"}) == []
    assert select_models(manifests, "dicom", {}, cytology) == []


def test_several_versions_of_one_model_give_one_name(classifier: TrainedModel) -> None:
    newer = classifier.manifest.model_copy(update={"version": "1.0.1"})
    features = {"worst_area": 900.0}
    assert select_models([classifier.manifest, newer], "case_report", None, features) == [
        "breast-cancer-malignancy"
    ]


def test_required_metadata_must_be_present_and_not_null(regressor: TrainedModel) -> None:
    image_model = dicom_manifest(regressor.manifest).model_copy(
        update={"applies_to": [AppliesTo(kind="dicom", requires_metadata=["rows", "columns"])]}
    )
    with_pixels = {"modality": "CT", "rows": 512, "columns": 512}
    assert select_models([image_model], "dicom", with_pixels) == ["burned-in-text"]
    assert select_models([image_model], "dicom", {**with_pixels, "rows": None}) == []
    assert select_models([image_model], "dicom", {"modality": "SR"}) == []
    assert select_models([image_model], "case_report", with_pixels) == []
