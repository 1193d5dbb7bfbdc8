"""A disease only the model proposes is shown with its schema name, not just its code."""

from diagnosis.recommend import recommend


def test_model_only_disease_gets_the_schema_name() -> None:
    rec = recommend(
        [],
        {},
        {},
        model_distribution={"J11.1": 0.7, "J00": 0.3},
        disease_names={"J11.1": "Influenza", "J00": "Common cold"},
    )
    names = {d.disease.icd10: d.disease.name for d in rec.diagnoses}
    assert names == {"J11.1": "Influenza", "J00": "Common cold"}


def test_without_names_the_code_stands_in() -> None:
    rec = recommend([], {}, {}, model_distribution={"J00": 1.0})
    assert rec.diagnoses[0].disease.name == "J00"
