"""Engines that build the data's triangle (R, z, ρ) from blocks of points: in this process
(moments) or on a Dask cluster (cluster).  They know the polynomial bases, not the model."""
