"""Airflow DAGs: feature engineering, training and monitoring pipelines."""
