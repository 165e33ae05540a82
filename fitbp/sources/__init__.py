"""Sources: where points come from (CSV files and pipes, many files, Parquet, generated samples).

They know no polynomial: they hand x and y arrays, in blocks, to whatever asks.
"""
