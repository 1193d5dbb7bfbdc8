import statistics
from collections import Counter

from hospital.datagen.generate import generate_hospitals, hospital_sizes
from hospital.emr.mapping import unknown_terms
from hospital.emr.schema import default_schema


def test_generation_is_deterministic_per_seed():
    a = generate_hospitals(3, 300, seed=11)
    b = generate_hospitals(3, 300, seed=11)
    c = generate_hospitals(3, 300, seed=12)
    assert a == b and a != c


def test_one_large_and_two_small_hospitals_with_different_case_mixes():
    assert hospital_sizes(3000, 3) == [1800, 600, 600]
    libs = generate_hospitals(3, 3000, seed=7)
    assert [len(h.cases) for h in libs] == [1800, 600, 600]
    mixes = [Counter(g.case.diagnosis.disease.icd10[0] for g in h.cases) for h in libs]
    share = [m["I"] / sum(m.values()) + m["J"] / sum(m.values()) for m in mixes]
    assert share[1] > share[0] > share[2]  # hospital 2 specialises in heart and lungs
    people = [{g.national_id for g in h.cases} for h in libs]
    assert people[0] & people[1]  # shared patients for PSI to find


def test_generated_cases_use_only_schema_terms_and_plausible_values():
    cases = [g.case for h in generate_hospitals(3, 1500, seed=5) for g in h.cases]
    schema = default_schema()
    assert all(unknown_terms(c, schema) == [] for c in cases)
    temps = {}
    for c in cases:
        t = next(v.value for v in c.labs if v.name == "temperature")
        temps.setdefault(c.diagnosis.disease.icd10, []).append(t)
        assert c.symptoms and c.treatments
        assert all(0 <= s.severity <= 10 and s.duration_days > 0 for s in c.symptoms)
    assert statistics.mean(temps["J11.1"]) > 38.3 > statistics.mean(temps["I10"])
