"""Reference lists the questionnaire asks from: Shandong cities, industry classification."""
