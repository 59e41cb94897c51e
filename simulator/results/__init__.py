"""A run's results: the frames and summary built from the model's records, results
folders written atomically, the metrics export and charts drawn from a folder.

Rule: reads what the model recorded; never drives the model.
"""
