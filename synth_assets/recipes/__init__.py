"""The recipes: one package each, implementing the contract in `base.py`; `installed.py` lists them, `registry.py` finds them."""
