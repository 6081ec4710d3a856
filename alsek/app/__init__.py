"""The composition root: containers, settings, task discovery, the task decorator and the façade."""
