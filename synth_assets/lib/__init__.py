"""Shared Dagster builders the domains in `defs/` use: the stage-asset builder, partitions, run tags, the LLM meter,
the drop- and polling-sensor builders, batch reports and the console logger (one concern per module)."""
