"""The demo, apart from the product: demo data (`seed.py`, `finance.py`), the gateway simulator
(`simulator/`) and the commands `make run` uses (seed_demo, demo_settle, run_tally,
simulate_gateways). Production never imports it; its extra libraries are dev requirements.
"""
