"""Worker pools: the thread pool (process groups of threads) and the process pool (one task per
process), their child processes, and the watchdog that keeps running messages leased."""
