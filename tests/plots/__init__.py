"""Tests of initlab.plots, one file per module (a package: test_depth.py is also a name in tests/)."""
