"""Output quality: validators of rewrites, calibration against labelled pairs, data-quality
metrics and decontamination against evaluation splits. Plain Python (no Dagster)."""
