"""CrowdPlay's benchmarks (``just bench``): figures and ratios against same-run baselines."""
