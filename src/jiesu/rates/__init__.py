"""Assessment (考评): the three rates, the composite score, rankings and on-time statistics.

Everything here reads what the workflow and the importer already recorded; nothing writes.
``definitions`` says what counts, ``population`` picks the requests that are scored,
``tally`` turns them into counts and rates, ``compute`` groups them by unit, area or category,
``rankings`` and ``signals`` serve supervisors, ``ontime`` follows a city's own on-time
arithmetic, ``export`` writes CSV and XLSX; ``endpoints`` and ``cli`` are thin.
"""
