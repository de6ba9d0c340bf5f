"""`jiesu bench soak`: the real server under a steady mixed load for minutes, on a scratch
installation, judged on errors, memory and latency over time (decision 0012).

    site.py    the scratch database and data dir, the demo city, its people and history
    server.py  `jiesu serve` as a child process: start, memory, CPU time, SIGTERM
    load.py    the open-loop stream of reads and writes
    stats.py   windows, percentiles, the memory trend, the verdict
    run.py     one soak from start to end
    cli.py     the command
"""
