"""The consortium's base vocabulary: symptom terms, labs with normal ranges, diseases, ordinals.

Terms the disease knowledge table (data/knowledge_v1.json) adds — its diseases, symptoms,
complications and drugs — are merged in by `hospital.emr.schema.default_schema`.
Reference intervals are common adult ones; units are stated with each lab.
"""

from __future__ import annotations

# Symptom terms of the public disease-symptom table (normalised; see docs/emr-import.md), the
# four chest-pain findings of the UCI heart data, and a few the knowledge table needs.
SYMPTOMS: tuple[str, ...] = tuple(
    sorted(
        set(
            """
abdominal_pain abnormal_menstruation acidity acute_liver_failure altered_sensorium anxiety
back_pain belly_pain blackheads bladder_discomfort blister blood_in_sputum bloody_stool
blurred_and_distorted_vision breathlessness brittle_nails bruising burning_micturition
chest_pain chills cold_hands_and_feets coma congestion constipation continuous_feel_of_urine
continuous_sneezing cough cramps dark_urine dehydration depression diarrhoea dischromic_patches
distention_of_abdomen dizziness drying_and_tingling_lips enlarged_thyroid excessive_hunger
extra_marital_contacts family_history fast_heart_rate fatigue fluid_overload
foul_smell_of_urine headache high_fever hip_joint_pain history_of_alcohol_consumption
increased_appetite indigestion inflammatory_nails internal_itching irregular_sugar_level
irritability irritation_in_anus itching joint_pain knee_pain lack_of_concentration lethargy
loss_of_appetite loss_of_balance loss_of_smell malaise mild_fever mood_swings movement_stiffness
mucoid_sputum muscle_pain muscle_wasting muscle_weakness nausea neck_pain nodal_skin_eruptions
obesity pain_behind_the_eyes pain_during_bowel_movements pain_in_anal_region painful_walking
palpitations passage_of_gases patches_in_throat phlegm polyuria prominent_veins_on_calf
puffy_face_and_eyes pus_filled_pimples receiving_blood_transfusion
receiving_unsterile_injections red_sore_around_nose red_spots_over_body redness_of_eyes
restlessness runny_nose rusty_sputum scurring shivering silver_like_dusting sinus_pressure
skin_peeling skin_rash slurred_speech small_dents_in_nails spinning_movements
spotting_urination stiff_neck stomach_bleeding stomach_pain sunken_eyes sweating
swelled_lymph_nodes swelling_joints swelling_of_stomach swollen_blood_vessels
swollen_extremeties swollen_legs throat_irritation toxic_look_typhos ulcers_on_tongue
unsteadiness visual_disturbances vomiting watering_from_eyes weakness_in_limbs
weakness_of_one_body_side weight_gain weight_loss yellow_crust_ooze yellow_urine
yellowing_of_eyes yellowish_skin
typical_angina atypical_angina non_anginal_chest_pain exercise_induced_angina
wheezing chest_tightness orthopnea increased_thirst heat_intolerance cold_intolerance tremor
right_lower_quadrant_pain hematuria flank_pain photophobia facial_droop numbness pallor
radiating_arm_pain
""".split()
        )
    )
)

# Ordinal severity grades and where they sit on the record's 0-10 scale.
SEVERITIES: dict[str, float] = {
    "none": 0.0,
    "mild": 3.0,
    "moderate": 5.0,
    "severe": 8.0,
    "very_severe": 10.0,
}

# name: (unit, normal_low, normal_high, levels). levels = the codes of a categorical finding.
LABS: dict[str, tuple[str, float | None, float | None, tuple[float, ...]]] = {
    "age": ("years", None, None, ()),
    "sex_male": ("flag", None, None, (0.0, 1.0)),
    "temperature": ("Cel", 36.1, 37.2, ()),
    "heart_rate": ("/min", 60.0, 100.0, ()),
    "respiratory_rate": ("/min", 12.0, 20.0, ()),
    "systolic_bp": ("mm[Hg]", 90.0, 120.0, ()),
    "diastolic_bp": ("mm[Hg]", 60.0, 80.0, ()),
    "spo2": ("%", 95.0, 100.0, ()),
    "bmi": ("kg/m2", 18.5, 25.0, ()),
    "wbc": ("10*9/L", 4.0, 11.0, ()),
    "neutrophils_pct": ("%", 40.0, 70.0, ()),
    "lymphocytes_pct": ("%", 20.0, 40.0, ()),
    "eosinophils_pct": ("%", 1.0, 4.0, ()),
    "hemoglobin": ("g/L", 120.0, 170.0, ()),
    "mcv": ("fL", 80.0, 100.0, ()),
    "platelets": ("10*9/L", 150.0, 400.0, ()),
    "ferritin": ("ug/L", 30.0, 300.0, ()),
    "crp": ("mg/L", 0.0, 10.0, ()),
    "esr": ("mm/h", 0.0, 20.0, ()),
    "glucose": ("mmol/L", 3.9, 5.5, ()),
    "hba1c": ("%", 4.0, 5.6, ()),
    "total_cholesterol": ("mg/dL", 125.0, 200.0, ()),
    "ldl_cholesterol": ("mmol/L", 0.0, 3.0, ()),
    "alt": ("U/L", 7.0, 56.0, ()),
    "bilirubin_total": ("umol/L", 5.0, 21.0, ()),
    "creatinine": ("umol/L", 53.0, 115.0, ()),
    "sodium": ("mmol/L", 135.0, 145.0, ()),
    "potassium": ("mmol/L", 3.5, 5.0, ()),
    "tsh": ("mIU/L", 0.4, 4.0, ()),
    "free_t4": ("pmol/L", 10.0, 22.0, ()),
    "troponin_i": ("ng/mL", 0.0, 0.04, ()),
    "bnp": ("pg/mL", 0.0, 100.0, ()),
    "urine_wbc": ("/[HPF]", 0.0, 5.0, ()),
    # UCI heart-disease findings (see docs/emr-import.md for the mapping)
    "fasting_blood_sugar_high": ("flag", None, None, (0.0, 1.0)),
    "resting_ecg": ("code", None, None, (0.0, 1.0, 2.0)),
    "max_heart_rate": ("/min", None, None, ()),
    "st_depression": ("mm", 0.0, 1.0, ()),
    "st_slope": ("code", None, None, (1.0, 2.0, 3.0)),
    "major_vessels_fluoroscopy": ("count", None, None, (0.0, 1.0, 2.0, 3.0)),
    "thallium_scan": ("code", None, None, (3.0, 6.0, 7.0)),
}

# Diseases of the public disease-symptom table and of the UCI heart data, with ICD-10 codes.
# name in the table → (ICD-10, canonical name)
DISEASES: dict[str, tuple[str, str]] = {
    "(vertigo) Paroymsal  Positional Vertigo": ("H81.10", "Benign paroxysmal positional vertigo"),
    "AIDS": ("B20", "HIV disease (AIDS)"),
    "Acne": ("L70.0", "Acne vulgaris"),
    "Alcoholic hepatitis": ("K70.10", "Alcoholic hepatitis"),
    "Allergy": ("T78.40XA", "Allergy, unspecified"),
    "Arthritis": ("M13.90", "Arthritis, unspecified"),
    "Bronchial Asthma": ("J45.9", "Bronchial asthma"),
    "Cervical spondylosis": ("M47.812", "Cervical spondylosis"),
    "Chicken pox": ("B01.9", "Chickenpox"),
    "Chronic cholestasis": ("K83.1", "Chronic cholestasis"),
    "Common Cold": ("J00", "Common cold"),
    "Dengue": ("A90", "Dengue fever"),
    "Diabetes": ("E11.9", "Type 2 diabetes mellitus"),
    "Dimorphic hemorrhoids(piles)": ("K64.9", "Haemorrhoids"),
    "Drug Reaction": ("T88.7XXA", "Adverse drug reaction"),
    "Fungal infection": ("B36.9", "Superficial fungal infection"),
    "GERD": ("K21.9", "Gastro-oesophageal reflux disease"),
    "Gastroenteritis": ("A09", "Gastroenteritis"),
    "Heart attack": ("I21.9", "Acute myocardial infarction"),
    "Hepatitis B": ("B16.9", "Acute hepatitis B"),
    "Hepatitis C": ("B17.10", "Acute hepatitis C"),
    "Hepatitis D": ("B17.0", "Acute hepatitis D"),
    "Hepatitis E": ("B17.2", "Acute hepatitis E"),
    "Hypertension": ("I10", "Essential hypertension"),
    "Hyperthyroidism": ("E05.90", "Hyperthyroidism"),
    "Hypoglycemia": ("E16.2", "Hypoglycaemia"),
    "Hypothyroidism": ("E03.9", "Hypothyroidism"),
    "Impetigo": ("L01.00", "Impetigo"),
    "Jaundice": ("R17", "Jaundice"),
    "Malaria": ("B54", "Malaria"),
    "Migraine": ("G43.909", "Migraine"),
    "Osteoarthristis": ("M19.90", "Osteoarthritis"),
    "Paralysis (brain hemorrhage)": ("I61.9", "Intracerebral haemorrhage with paralysis"),
    "Peptic ulcer diseae": ("K27.9", "Peptic ulcer disease"),
    "Pneumonia": ("J18.9", "Pneumonia"),
    "Psoriasis": ("L40.9", "Psoriasis"),
    "Tuberculosis": ("A15.0", "Pulmonary tuberculosis"),
    "Typhoid": ("A01.00", "Typhoid fever"),
    "Urinary tract infection": ("N39.0", "Urinary tract infection"),
    "Varicose veins": ("I83.90", "Varicose veins of lower extremities"),
    "hepatitis A": ("B15.9", "Acute hepatitis A"),
    # UCI heart disease: angiographic diagnosis
    "uci:num>0": ("I25.10", "Coronary artery disease (angiographic narrowing > 50%)"),
    "uci:num=0": ("Z03.89", "Coronary artery disease ruled out"),
}

# Spelling variants of the table above that name the same disease.
DISEASE_ALIASES: dict[str, str] = {
    "Dimorphic hemmorhoids(piles)": "Dimorphic hemorrhoids(piles)",
}
