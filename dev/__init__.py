"""Developer helpers: the real llama.cpp backend for tests, the demo and benchmarks."""
