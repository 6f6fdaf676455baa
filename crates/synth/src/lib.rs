//! Synthetic but plausible members and figures for demos, tests and benchmarks.
