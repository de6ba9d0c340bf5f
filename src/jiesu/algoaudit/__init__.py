"""Algorithm audit (算法审计): how the machine's decisions serve each group of callers."""
