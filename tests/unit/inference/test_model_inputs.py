"""Each model owns its input schema; what it reads must be a measurement the case-report
contract carries past de-identification, in the section the model reads it from."""

from medshare_inference.models import breast_cancer, diabetes
from medshare_shared.case_report import CYTOLOGY_FEATURES, METABOLIC_FEATURES


def test_breast_cancer_reads_cytology_measurements_only() -> None:
    assert len(set(breast_cancer.INPUTS)) == len(breast_cancer.INPUTS) == 30
    assert set(breast_cancer.INPUTS) <= set(CYTOLOGY_FEATURES)


def test_diabetes_reads_metabolic_measurements_only() -> None:
    assert len(set(diabetes.INPUTS)) == len(diabetes.INPUTS)
    assert set(diabetes.INPUTS) <= set(METABOLIC_FEATURES)
