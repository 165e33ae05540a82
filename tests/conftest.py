import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def client():
    """One in-process dask cluster (threads, no pickling) for every test of a pytest run that needs one:
    starting a cluster costs seconds, and the tests only ask it to reduce."""
    distributed = pytest.importorskip("distributed", reason="--engine dask needs the dask extra")
    pytest.importorskip("dask.dataframe", reason="--engine dask needs the dask extra")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as connected:
        yield connected
