// protocol_bench: run with --benchmark_format=json for machine-readable rows.
// Each protocol_bench_<implementation>.cc registers its own rows and records
// the version of what it measures in the output's context.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
